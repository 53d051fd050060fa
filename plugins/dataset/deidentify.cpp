#include "plugins/dataset/deidentify.h"

#include <dcmtk/config/osconfig.h>  // must come first among DCMTK headers
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <set>
#include <vector>

#include "common/sha256.h"

namespace radflow::dataset {
namespace {

std::array<uint8_t, 32> hmac_sha256(const std::string& key, const std::string& message) {
  std::string block = key;
  if (block.size() > 64) block = sha256_hex(block);
  block.resize(64, '\0');
  std::string inner_pad(64, '\0'), outer_pad(64, '\0');
  for (size_t i = 0; i < 64; ++i) {
    inner_pad[i] = static_cast<char>(block[i] ^ 0x36);
    outer_pad[i] = static_cast<char>(block[i] ^ 0x5c);
  }
  Sha256 inner;
  inner.update(inner_pad);
  inner.update(message);
  const std::array<uint8_t, 32> inner_digest = inner.digest();
  Sha256 outer;
  outer.update(outer_pad);
  outer.update(inner_digest.data(), inner_digest.size());
  return outer.digest();
}

// Attributes kept as they are (after the VR syntax check): what reading and judging a
// radiograph needs, none of which names a person, place or device.
const std::set<DcmTagKey>& kept_tags() {
  static const std::set<DcmTagKey> tags = {
      DCM_SOPClassUID, DCM_ImageType, DCM_Modality, DCM_ConversionType, DCM_PresentationIntentType,
      DCM_BodyPartExamined, DCM_ViewPosition, DCM_ImageLaterality, DCM_Laterality, DCM_PatientOrientation,
      DCM_PatientSex, DCM_SeriesNumber, DCM_InstanceNumber, DCM_SamplesPerPixel, DCM_PhotometricInterpretation,
      DCM_Rows, DCM_Columns, DCM_BitsAllocated, DCM_BitsStored, DCM_HighBit, DCM_PixelRepresentation,
      DCM_PlanarConfiguration, DCM_NumberOfFrames, DCM_PixelAspectRatio, DCM_SmallestImagePixelValue,
      DCM_LargestImagePixelValue, DCM_PixelPaddingValue, DCM_PixelSpacing, DCM_ImagerPixelSpacing,
      DCM_RescaleIntercept, DCM_RescaleSlope, DCM_RescaleType, DCM_WindowCenter, DCM_WindowWidth,
      DCM_VOILUTFunction, DCM_LossyImageCompression, DCM_LossyImageCompressionRatio,
      DCM_LossyImageCompressionMethod, DCM_BurnedInAnnotation, DCM_PixelIntensityRelationship,
      DCM_PixelIntensityRelationshipSign, DCM_PixelData};
  return tags;
}

const DcmTagKey kShiftedDates[] = {DCM_StudyDate, DCM_SeriesDate, DCM_AcquisitionDate, DCM_ContentDate};
const DcmTagKey kKeptTimes[] = {DCM_StudyTime, DCM_SeriesTime, DCM_AcquisitionTime, DCM_ContentTime};
const DcmTagKey kRemappedUids[] = {DCM_StudyInstanceUID, DCM_SeriesInstanceUID, DCM_SOPInstanceUID,
                                   DCM_FrameOfReferenceUID};
// Type 2 in the DX and CR IODs: present, empty.
const DcmTagKey kEmptied[] = {DCM_StudyID, DCM_AccessionNumber, DCM_ReferringPhysicianName,
                              DCM_PatientBirthDate};

bool only_chars(const std::string& value, const char* allowed) {
  return value.find_first_not_of(allowed) == std::string::npos;
}

// Whether a kept string value has its VR's syntax; free text smuggled into a coded
// attribute fails this and is emptied.
bool well_formed(DcmEVR vr, const std::string& value) {
  switch (vr) {
    case EVR_CS: case EVR_LO: return only_chars(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _\\");
    case EVR_DS: return only_chars(value, "0123456789+-.eE \\");
    case EVR_IS: return only_chars(value, "0123456789+- \\");
    case EVR_UI: return only_chars(value, "0123456789.");
    case EVR_TM: return only_chars(value, "0123456789.: ");
    default: return false;
  }
}

bool is_string_vr(DcmEVR vr) {
  switch (vr) {
    case EVR_AE: case EVR_AS: case EVR_CS: case EVR_DA: case EVR_DS: case EVR_DT: case EVR_IS:
    case EVR_LO: case EVR_LT: case EVR_PN: case EVR_SH: case EVR_ST: case EVR_TM: case EVR_UC:
    case EVR_UI: case EVR_UR: case EVR_UT:
      return true;
    default:
      return false;
  }
}

std::string string_of(DcmDataset* ds, const DcmTagKey& tag) {
  OFString value;
  if (ds->findAndGetOFStringArray(tag, value).bad()) return {};
  return value.c_str();
}

// PatientAge "nnnY" capped at 090Y; other units kept; "" when malformed.
std::string capped_age(const std::string& age) {
  if (age.size() != 4 || !only_chars(age.substr(0, 3), "0123456789") || !only_chars(age.substr(3), "DWMY")) return {};
  if (age[3] == 'Y' && std::stoi(age.substr(0, 3)) > 90) return "090Y";
  return age;
}

// Days since 1970-01-01 of a civil date and back (H. Hinnant's algorithms).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

}  // namespace

std::string shift_date(const std::string& date, int days) {
  if (date.size() != 8 || !only_chars(date, "0123456789")) return {};
  const int64_t y = std::stoi(date.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(date.substr(4, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(date.substr(6, 2)));
  static const unsigned kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1800 || m < 1 || m > 12 || d < 1 || d > kMonthDays[m - 1]) return {};
  int64_t ny = 0;
  unsigned nm = 0, nd = 0;
  civil_from_days(days_from_civil(y, m, d) - days, &ny, &nm, &nd);
  char text[16];
  std::snprintf(text, sizeof text, "%04lld%02u%02u", static_cast<long long>(ny), nm, nd);
  return text;
}

Deidentifier::Deidentifier(std::string key) : key_(std::move(key)) {}

std::string Deidentifier::hmac_hex(const std::string& message) const {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t byte : hmac_sha256(key_, message)) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

std::string Deidentifier::token(const std::string& domain, const std::string& text) const {
  return hmac_hex(domain + ":" + text).substr(0, 20);
}

std::string Deidentifier::patient_pseudonym(const std::string& patient_id) const {
  return "P" + hmac_hex("patient:" + patient_id).substr(0, 16);
}

std::string Deidentifier::remap_uid(const std::string& uid) const {
  const std::array<uint8_t, 32> digest = hmac_sha256(key_, "uid:" + uid);
  // The first 128 bits as a decimal number (PS3.5 B.2: UUID-derived 2.25 UIDs), by
  // repeated division of the big-endian byte string by 10.
  std::vector<uint8_t> number(digest.begin(), digest.begin() + 16);
  std::string digits;
  while (std::any_of(number.begin(), number.end(), [](uint8_t b) { return b != 0; })) {
    unsigned remainder = 0;
    for (uint8_t& byte : number) {
      const unsigned value = (remainder << 8) | byte;
      byte = static_cast<uint8_t>(value / 10);
      remainder = value % 10;
    }
    digits.insert(digits.begin(), static_cast<char>('0' + remainder));
  }
  return "2.25." + (digits.empty() ? std::string("0") : digits);
}

int Deidentifier::date_shift_days(const std::string& patient_id) const {
  return 1 + static_cast<int>(std::stoull(hmac_hex("date:" + patient_id).substr(0, 12), nullptr, 16) % 3650);
}

DeidOutcome Deidentifier::apply(DcmDataset* ds, BurnedInPolicy burned_in) const {
  if (burned_in == BurnedInPolicy::kExclude && string_of(ds, DCM_BurnedInAnnotation) == "YES") {
    return DeidOutcome::kBurnedInExcluded;
  }
  const std::string patient_id = string_of(ds, DCM_PatientID);
  const std::string pseudonym = patient_pseudonym(patient_id);
  const int shift = date_shift_days(patient_id);
  std::vector<std::pair<DcmTagKey, std::string>> replaced = {
      {DCM_PatientID, pseudonym}, {DCM_PatientName, pseudonym},
      {DCM_PatientAge, capped_age(string_of(ds, DCM_PatientAge))},
      {DCM_PatientIdentityRemoved, "YES"},
      {DCM_DeidentificationMethod, "PS3.15 Basic Profile (whitelist)\\Modified Dates\\Patient Characteristics"},
      {DCM_LongitudinalTemporalInformationModified, "MODIFIED"}};
  for (const DcmTagKey& tag : kShiftedDates) {
    if (ds->tagExists(tag)) replaced.emplace_back(tag, shift_date(string_of(ds, tag), shift));
  }
  for (const DcmTagKey& tag : kKeptTimes) {
    const std::string time = string_of(ds, tag);
    if (ds->tagExists(tag)) replaced.emplace_back(tag, well_formed(EVR_TM, time) ? time : "");
  }
  for (const DcmTagKey& tag : kRemappedUids) {
    const std::string uid = string_of(ds, tag);
    if (!uid.empty()) replaced.emplace_back(tag, remap_uid(uid));
  }
  for (const DcmTagKey& tag : kEmptied) replaced.emplace_back(tag, "");

  // Everything not kept goes: private tags (odd groups), sequences, overlays, text.
  std::vector<DcmTagKey> removed;
  for (unsigned long i = 0; i < ds->card(); ++i) {
    DcmElement* element = ds->getElement(i);
    const DcmTagKey key = element->getTag().getXTag();
    if (kept_tags().count(key) == 0 || key.isPrivate()) {
      removed.push_back(key);
      continue;
    }
    const DcmEVR vr = element->ident();
    if (!is_string_vr(vr)) continue;
    OFString value;
    element->getOFStringArray(value);
    if (!well_formed(vr, value.c_str())) replaced.emplace_back(key, "");
  }
  for (const DcmTagKey& key : removed) ds->findAndDeleteElement(key, OFTrue, OFFalse);
  for (const auto& [tag, value] : replaced) ds->putAndInsertString(tag, value.c_str());

  static const char* const kMethodCodes[][2] = {
      {"113100", "Basic Application Confidentiality Profile"},
      {"113107", "Retain Longitudinal Temporal Information Modified Dates Option"},
      {"113108", "Retain Patient Characteristics Option"}};
  for (const auto& code : kMethodCodes) {
    DcmItem* item = nullptr;
    if (ds->findOrCreateSequenceItem(DCM_DeidentificationMethodCodeSequence, item, -2).bad()) continue;
    item->putAndInsertString(DCM_CodeValue, code[0]);
    item->putAndInsertString(DCM_CodingSchemeDesignator, "DCM");
    item->putAndInsertString(DCM_CodeMeaning, code[1]);
  }
  return DeidOutcome::kDeidentified;
}

}  // namespace radflow::dataset
