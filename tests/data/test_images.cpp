#include "tests/data/test_images.h"

#include <cstdio>
#include <memory>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <png.h>

namespace radflow::test {

DicomPixels read_dicom(const std::string& path) {
  static const bool registered = [] {
    DcmRLEDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    return true;
  }();
  (void)registered;
  DicomPixels out;
  DcmFileFormat file;
  OFCondition status = file.loadFile(path.c_str());
  if (status.bad()) {
    out.error = status.text();
    return out;
  }
  DcmDataset* ds = file.getDataset();
  OFString text;
  if (file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, text).good()) out.transfer_syntax_uid = text.c_str();
  if (ds->findAndGetOFString(DCM_PhotometricInterpretation, text).good()) out.photometric = text.c_str();
  if (ds->findAndGetOFString(DCM_Modality, text).good()) out.modality = text.c_str();
  if (ds->findAndGetOFString(DCM_PatientSex, text).good()) out.sex = text.c_str();
  if (ds->findAndGetOFString(DCM_PatientAge, text).good()) out.age = text.c_str();
  if (ds->findAndGetOFString(DCM_PatientID, text).good()) out.patient_id = text.c_str();
  Float64 slope = 1, intercept = 0;
  out.has_rescale = ds->findAndGetFloat64(DCM_RescaleSlope, slope).good() &&
                    ds->findAndGetFloat64(DCM_RescaleIntercept, intercept).good();
  Float64 window = 0;
  out.has_window = ds->findAndGetFloat64(DCM_WindowCenter, window).good() &&
                   ds->findAndGetFloat64(DCM_WindowWidth, window).good();
  Uint16 rows = 0, columns = 0, bits = 0;
  ds->findAndGetUint16(DCM_Rows, rows);
  ds->findAndGetUint16(DCM_Columns, columns);
  ds->findAndGetUint16(DCM_BitsStored, bits);
  out.rows = rows;
  out.columns = columns;
  out.bits_stored = bits;
  status = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
  if (status.bad()) {
    out.error = std::string("decompression failed: ") + status.text();
    return out;
  }
  const Uint16* values = nullptr;
  unsigned long count = 0;
  status = ds->findAndGetUint16Array(DCM_PixelData, values, &count);
  if (status.bad() || count != static_cast<unsigned long>(rows) * columns) {
    out.error = "pixel data missing or wrong size";
    return out;
  }
  const double max_value = static_cast<double>((1u << bits) - 1);
  out.attenuation.resize(count);
  for (unsigned long i = 0; i < count; ++i) {
    double v = (values[i] * slope + intercept) / max_value;
    if (out.photometric == "MONOCHROME1") v = 1.0 - v;
    out.attenuation[i] = static_cast<float>(v);
  }
  out.ok = true;
  return out;
}

GrayImage read_png_gray8(const std::string& path) {
  GrayImage out;
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) return out;
  image.format = PNG_FORMAT_GRAY;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  out.ok = png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr) != 0;
  return out;
}

}  // namespace radflow::test
