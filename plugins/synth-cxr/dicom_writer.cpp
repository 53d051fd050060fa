#include "plugins/synth-cxr/dicom_writer.h"

#include <cmath>
#include <cstdio>
#include <mutex>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcrlerp.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrlo.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>
#include <dcmtk/oflog/oflog.h>

namespace radflow::synth {

const char* encoding_name(DicomEncoding encoding) {
  switch (encoding) {
    case DicomEncoding::kRleLossless: return "rle";
    case DicomEncoding::kJpegLsLossless: return "jpegls";
    case DicomEncoding::kExplicitLittle: break;
  }
  return "explicit_le";
}

const char* transfer_syntax_uid(DicomEncoding encoding) {
  switch (encoding) {
    case DicomEncoding::kRleLossless: return UID_RLELosslessTransferSyntax;
    case DicomEncoding::kJpegLsLossless: return UID_JPEGLSLosslessTransferSyntax;
    case DicomEncoding::kExplicitLittle: break;
  }
  return UID_LittleEndianExplicitTransferSyntax;
}

void register_dicom_codecs() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The JPEG-LS encoder logs an info line per image about the rescale attributes;
    // 400 of those would bury the step's own log.
    OFLog::configure(OFLogger::WARN_LOG_LEVEL);
    DcmRLEEncoderRegistration::registerCodecs();
    DJLSEncoderRegistration::registerCodecs();
  });
}

namespace {

// What a real export from a hospital carries and de-identification must remove: names,
// IDs, addresses, institution and device identity, physicians, free text, dates, UIDs
// in sequences and private tags, each value naming its attribute and the patient.
OFCondition add_phi_canaries(DcmDataset* ds, const DicomImage& image) {
  const std::string patient = "-" + std::to_string(image.patient_index);
  const std::pair<DcmTagKey, const char*> text_tags[] = {
      {DCM_PatientName, "PatientName"}, {DCM_RETIRED_OtherPatientIDs, "OtherPatientIDs"},
      {DCM_OtherPatientNames, "OtherPatientNames"}, {DCM_PatientBirthName, "PatientBirthName"},
      {DCM_PatientMotherBirthName, "PatientMotherBirthName"}, {DCM_PatientAddress, "PatientAddress"},
      {DCM_PatientTelephoneNumbers, "PatientTelephoneNumbers"}, {DCM_IssuerOfPatientID, "IssuerOfPatientID"},
      {DCM_RETIRED_MedicalRecordLocator, "MedicalRecordLocator"}, {DCM_PatientComments, "PatientComments"},
      {DCM_AdditionalPatientHistory, "AdditionalPatientHistory"}, {DCM_Occupation, "Occupation"},
      {DCM_InstitutionName, "InstitutionName"}, {DCM_InstitutionAddress, "InstitutionAddress"},
      {DCM_InstitutionalDepartmentName, "InstitutionalDepartmentName"}, {DCM_StationName, "StationName"},
      {DCM_DeviceSerialNumber, "DeviceSerialNumber"}, {DCM_DetectorID, "DetectorID"},
      {DCM_ReferringPhysicianName, "ReferringPhysicianName"}, {DCM_PerformingPhysicianName, "PerformingPhysicianName"},
      {DCM_NameOfPhysiciansReadingStudy, "NameOfPhysiciansReadingStudy"}, {DCM_OperatorsName, "OperatorsName"},
      {DCM_RequestingPhysician, "RequestingPhysician"}, {DCM_PhysiciansOfRecord, "PhysiciansOfRecord"},
      {DCM_AccessionNumber, "AccessionNumber"}, {DCM_StudyID, "StudyID"},
      {DCM_StudyDescription, "StudyDescription"}, {DCM_SeriesDescription, "SeriesDescription"},
      {DCM_ImageComments, "ImageComments"}, {DCM_ProtocolName, "ProtocolName"},
      {DCM_PerformedProcedureStepID, "PerformedProcedureStepID"},
      {DCM_PerformedProcedureStepDescription, "PerformedProcedureStepDescription"},
      {DCM_RequestedProcedureDescription, "RequestedProcedureDescription"},
      {DCM_DerivationDescription, "DerivationDescription"}};
  OFCondition ok = EC_Normal;
  for (const auto& [tag, keyword] : text_tags) {
    const std::string value = std::string(kPhiCanary) + "-" + keyword + patient;
    if (ok.good()) ok = ds->putAndInsertString(tag, value.c_str());
  }
  const std::string uid_root = kPhiCanaryUidRoot + std::to_string(image.patient_index);
  for (const DcmTagKey& tag : {DCM_StudyDate, DCM_SeriesDate, DCM_AcquisitionDate, DCM_ContentDate}) {
    if (ok.good()) ok = ds->putAndInsertString(tag, image.study_date.c_str());
  }
  if (ok.good()) ok = ds->putAndInsertString(DCM_StudyTime, "101500");
  if (ok.good()) ok = ds->putAndInsertString(DCM_PatientBirthDate, kPhiCanaryBirthDate);
  if (ok.good()) ok = ds->putAndInsertString(DCM_FrameOfReferenceUID, (uid_root + ".4").c_str());
  if (image.burned_in && ok.good()) ok = ds->putAndInsertString(DCM_BurnedInAnnotation, "YES");
  DcmItem* item = nullptr;
  if (ok.good()) ok = ds->findOrCreateSequenceItem(DCM_ReferencedStudySequence, item, -2);
  if (ok.good()) ok = item->putAndInsertString(DCM_ReferencedSOPInstanceUID, (uid_root + ".5").c_str());
  if (ok.good()) ok = ds->findOrCreateSequenceItem(DCM_RequestAttributesSequence, item, -2);
  if (ok.good()) ok = item->putAndInsertString(DCM_RequestedProcedureID, (std::string(kPhiCanary) + "-RequestedProcedureID" + patient).c_str());
  // A private block: creator (0009,0010) and one of its elements (0009,1001).
  if (ok.good()) ok = ds->putAndInsertString(DcmTag(0x0009, 0x0010, EVR_LO), (std::string(kPhiCanary) + "-PrivateCreator").c_str());
  if (ok.good()) {
    auto* element = new DcmLongString(DcmTag(0x0009, 0x1001, EVR_LO));
    ok = element->putString((std::string(kPhiCanary) + "-PrivateValue" + patient).c_str());
    if (ok.good()) ok = ds->insert(element, OFTrue);
    if (ok.bad()) delete element;
  }
  return ok;
}

// DCMTK's JPEG-LS encoder pads an odd-length codestream to even length with a byte it
// never writes (uninitialised heap memory), so the same image gave files that differ
// in that one byte from run to run. The pad after the EOI marker (FFD9) is zeroed here.
void zero_fragment_padding(DcmDataset* ds, E_TransferSyntax xfer, const DcmRepresentationParameter* params) {
  DcmElement* element = nullptr;
  if (ds->findAndGetElement(DCM_PixelData, element).bad()) return;
  DcmPixelSequence* seq = nullptr;
  if (static_cast<DcmPixelData*>(element)->getEncapsulatedRepresentation(xfer, params, seq).bad() || !seq) return;
  for (unsigned long k = 1; k < seq->card(); ++k) {  // item 0 is the offset table
    DcmPixelItem* item = nullptr;
    Uint8* bytes = nullptr;
    if (seq->getItem(item, k).bad() || item->getUint8Array(bytes).bad() || bytes == nullptr) continue;
    const Uint32 length = item->getLength();
    if (length >= 3 && bytes[length - 3] == 0xFF && bytes[length - 2] == 0xD9) bytes[length - 1] = 0;
  }
}

}  // namespace

Status write_dicom(const DicomImage& image, const std::string& path) {
  auto fail = [&path](const std::string& what) {
    return Status::error("dicom_write", "cannot write DICOM " + path + ": " + what, path);
  };
  const size_t n = static_cast<size_t>(image.size) * image.size;
  if (image.pixels == nullptr || image.pixels->size() != n) return fail("pixel buffer size mismatch");
  const unsigned max_value = (1u << image.bits_stored) - 1;
  std::vector<Uint16> stored(n);
  for (size_t i = 0; i < n; ++i) {
    auto v = static_cast<unsigned>(std::lround((*image.pixels)[i] * max_value));
    if (image.monochrome1) v = max_value - v;  // MONOCHROME1: low values display white
    stored[i] = static_cast<Uint16>(v);
  }

  DcmFileFormat file;
  DcmDataset* ds = file.getDataset();
  char text[64];
  OFCondition ok = EC_Normal;
  auto put = [&](const DcmTagKey& tag, const std::string& value) {
    if (ok.good()) ok = ds->putAndInsertString(tag, value.c_str());
  };
  auto put16 = [&](const DcmTagKey& tag, unsigned value) {
    if (ok.good()) ok = ds->putAndInsertUint16(tag, static_cast<Uint16>(value));
  };
  put(DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation);
  put(DCM_SOPInstanceUID, image.instance_uid);
  put(DCM_StudyInstanceUID, image.study_uid);
  put(DCM_SeriesInstanceUID, image.series_uid);
  put(DCM_Modality, "DX");
  put(DCM_ImageType, "ORIGINAL\\PRIMARY");
  put(DCM_PresentationIntentType, "FOR PRESENTATION");
  put(DCM_BodyPartExamined, "CHEST");
  put(DCM_ViewPosition, "PA");
  put(DCM_PatientOrientation, "R\\F");
  put(DCM_PatientID, image.patient_id);
  put(DCM_PatientName, "SYNTHETIC^" + image.patient_id);
  put(DCM_PatientSex, image.sex);
  std::snprintf(text, sizeof text, "%03dY", image.age_years);
  put(DCM_PatientAge, text);
  put(DCM_SeriesNumber, "1");
  put(DCM_InstanceNumber, "1");
  put(DCM_ImagerPixelSpacing, "0.7\\0.7");
  put(DCM_PixelSpacing, "0.7\\0.7");
  put16(DCM_SamplesPerPixel, 1);
  put(DCM_PhotometricInterpretation, image.monochrome1 ? "MONOCHROME1" : "MONOCHROME2");
  put16(DCM_Rows, image.size);
  put16(DCM_Columns, image.size);
  put16(DCM_BitsAllocated, 16);
  put16(DCM_BitsStored, image.bits_stored);
  put16(DCM_HighBit, image.bits_stored - 1);
  put16(DCM_PixelRepresentation, 0);
  put(DCM_RescaleIntercept, "0");
  put(DCM_RescaleSlope, "1");
  put(DCM_RescaleType, "US");
  // One fixed VOI window for every image of a bit depth (the detector's display range),
  // never the image's own min-max: a per-image window lets the brightest object (a
  // chest tube) rescale the whole image, so global statistics would give it away.
  std::snprintf(text, sizeof text, "%u", (max_value + 1) / 2);
  put(DCM_WindowCenter, text);
  std::snprintf(text, sizeof text, "%u", max_value + 1);
  put(DCM_WindowWidth, text);
  if (ok.good() && image.phi_canaries) ok = add_phi_canaries(ds, image);
  if (ok.good()) ok = ds->putAndInsertUint16Array(DCM_PixelData, stored.data(), static_cast<unsigned long>(n));
  if (ok.bad()) return fail(ok.text());

  E_TransferSyntax xfer = EXS_LittleEndianExplicit;
  if (image.encoding == DicomEncoding::kRleLossless) {
    xfer = EXS_RLELossless;
    DcmRLERepresentationParameter params;
    ok = ds->chooseRepresentation(xfer, &params);
  } else if (image.encoding == DicomEncoding::kJpegLsLossless) {
    xfer = EXS_JPEGLSLossless;
    DJLSRepresentationParameter params(0, OFTrue);
    ok = ds->chooseRepresentation(xfer, &params);
    if (ok.good()) zero_fragment_padding(ds, xfer, &params);
  }
  if (ok.bad()) return fail(std::string("encoding failed: ") + ok.text());
  if (!ds->canWriteXfer(xfer)) return fail("no encoder for transfer syntax " + std::string(encoding_name(image.encoding)));
  ok = file.saveFile(path.c_str(), xfer);
  if (ok.bad()) return fail(ok.text());
  return Status::ok_status();
}

}  // namespace radflow::synth
