// Deidentifier: applies the DICOM PS3.15 Basic Application Level Confidentiality
// Profile to one DICOM data set, in place, as a whitelist ("keep only what a radiograph
// needs to be read and judged"), which is stricter than the profile's table:
//   - kept as they are: the Image Pixel module, rescale/window, modality, SOP class,
//     image type, presentation intent, body part, view position, laterality, patient
//     orientation, pixel spacing, burned-in annotation flag, and PatientSex; string
//     values must have their VR's syntax (CS, DS, IS, AS), or they are emptied;
//   - PatientAge kept in years, capped at 090Y (HIPAA safe harbour);
//   - PatientID and PatientName replaced by the patient's pseudonym;
//   - Study/Series/SOP Instance and Frame of Reference UIDs remapped to 2.25.<decimal>
//     of a keyed hash (the same UID maps to the same new UID within a key);
//   - StudyDate, SeriesDate, AcquisitionDate and ContentDate shifted by a per-patient
//     number of days, so intervals between one patient's studies survive; times kept
//     when they are well-formed TM values;
//   - StudyID, AccessionNumber, ReferringPhysicianName, PatientBirthDate present but
//     empty (type 2 in the IODs);
//   - everything else removed: names, addresses, institution, station, device serial,
//     descriptions, comments, every sequence, overlays, and all private tags;
//   - PatientIdentityRemoved=YES, DeidentificationMethod and its code sequence
//     (113100 basic profile, 113107 modified dates, 113108 patient characteristics),
//     LongitudinalTemporalInformationModified=MODIFIED added.
// The key is the per-dataset secret; pseudonyms, UIDs and date shifts are HMAC-SHA256
// of the original value under that key, so they are deterministic for one key and
// cannot be recomputed without it. Thread-safe (const methods only).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

class DcmDataset;

namespace radflow::dataset {

enum class BurnedInPolicy { kExclude, kAllow };

enum class DeidOutcome { kDeidentified, kBurnedInExcluded };

class Deidentifier {
 public:
  explicit Deidentifier(std::string key);

  // "P" + 16 hex digits of HMAC(key, "patient:" + id).
  std::string patient_pseudonym(const std::string& patient_id) const;
  // "2.25." + the decimal of the first 128 bits of HMAC(key, "uid:" + uid).
  std::string remap_uid(const std::string& uid) const;
  // Days (1..3650) that this patient's dates move into the past.
  int date_shift_days(const std::string& patient_id) const;
  // 20 hex digits of HMAC(key, domain + ":" + text): names for files and folders.
  std::string token(const std::string& domain, const std::string& text) const;

  // De-identifies `ds` (the data set, not the file meta header: write the file with a
  // fresh meta header). Files with BurnedInAnnotation YES are left untouched and
  // reported as kBurnedInExcluded under kExclude.
  DeidOutcome apply(DcmDataset* ds, BurnedInPolicy burned_in) const;

 private:
  std::string hmac_hex(const std::string& message) const;
  std::string key_;
};

// Shifts a DICOM DA value (YYYYMMDD) by -days; "" when `date` is not a valid date.
std::string shift_date(const std::string& date, int days);

}  // namespace radflow::dataset
