// Deidentifier (plugins/dataset/deidentify.h) on data sets built in memory: what stays,
// what is replaced, what goes, and the keyed, consistent mappings.
#include <gtest/gtest.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcstack.h>
#include <dcmtk/dcmdata/dcvrlo.h>

#include "plugins/dataset/deidentify.h"

namespace radflow::dataset {
namespace {

std::string text(DcmDataset& ds, const DcmTagKey& tag) {
  OFString value;
  if (ds.findAndGetOFStringArray(tag, value).bad()) return "<absent>";
  return value.c_str();
}

// Every string value in the data set, sequences included, joined.
std::string all_values(DcmDataset& ds) {
  std::string joined;
  DcmStack stack;
  while (ds.nextObject(stack, OFTrue).good()) {
    auto* element = dynamic_cast<DcmElement*>(stack.top());
    OFString value;
    if (element != nullptr && element->isLeaf() && element->getOFStringArray(value).good()) {
      joined += std::string(value.c_str()) + "|";
    }
  }
  return joined;
}

void fill(DcmDataset& ds, const std::string& patient_id, const std::string& study_date) {
  ds.putAndInsertString(DCM_PatientID, patient_id.c_str());
  ds.putAndInsertString(DCM_PatientName, "SECRET^NAME");
  ds.putAndInsertString(DCM_PatientAddress, "SECRET street 1");
  ds.putAndInsertString(DCM_PatientBirthDate, "19230517");
  ds.putAndInsertString(DCM_PatientAge, "095Y");
  ds.putAndInsertString(DCM_PatientSex, "F");
  ds.putAndInsertString(DCM_InstitutionName, "SECRET hospital");
  ds.putAndInsertString(DCM_StationName, "SECRETSTATION");
  ds.putAndInsertString(DCM_DeviceSerialNumber, "SECRET-SN");
  ds.putAndInsertString(DCM_ReferringPhysicianName, "SECRET^DOCTOR");
  ds.putAndInsertString(DCM_AccessionNumber, "SECRET-ACC");
  ds.putAndInsertString(DCM_ImageComments, "SECRET comment");
  ds.putAndInsertString(DCM_StudyDate, study_date.c_str());
  ds.putAndInsertString(DCM_StudyTime, "SECRET");
  ds.putAndInsertString(DCM_StudyInstanceUID, "1.2.3.4.5");
  ds.putAndInsertString(DCM_SOPInstanceUID, "1.2.3.4.6");
  ds.putAndInsertString(DCM_SOPClassUID, "1.2.840.10008.5.1.4.1.1.1.1");
  ds.putAndInsertString(DCM_Modality, "DX");
  ds.putAndInsertString(DCM_ViewPosition, "PA");
  ds.putAndInsertString(DCM_BodyPartExamined, "SECRET free text");
  ds.putAndInsertUint16(DCM_Rows, 4);
  ds.putAndInsertUint16(DCM_Columns, 4);
  DcmItem* item = nullptr;
  ds.findOrCreateSequenceItem(DCM_ReferencedStudySequence, item, -2);
  item->putAndInsertString(DCM_ReferencedSOPInstanceUID, "1.2.3.4.7");
  ds.putAndInsertString(DcmTag(0x0009, 0x0010, EVR_LO), "SECRET creator");
  auto* element = new DcmLongString(DcmTag(0x0009, 0x1001, EVR_LO));
  element->putString("SECRET private");
  ds.insert(element, OFTrue);
}

TEST(Deidentify, RemovesReplacesAndKeepsByTheWhitelist) {
  const Deidentifier deid("key-one-0123456789");
  DcmDataset ds;
  fill(ds, "MRN-1", "20110301");
  ASSERT_EQ(deid.apply(&ds, BurnedInPolicy::kExclude), DeidOutcome::kDeidentified);
  EXPECT_EQ(all_values(ds).find("SECRET"), std::string::npos) << all_values(ds);
  EXPECT_EQ(all_values(ds).find("MRN-1"), std::string::npos);
  EXPECT_EQ(all_values(ds).find("19230517"), std::string::npos);
  EXPECT_EQ(all_values(ds).find("1.2.3.4."), std::string::npos);
  EXPECT_EQ(text(ds, DCM_PatientID), deid.patient_pseudonym("MRN-1"));
  EXPECT_EQ(text(ds, DCM_PatientName), deid.patient_pseudonym("MRN-1"));
  EXPECT_EQ(text(ds, DCM_PatientAge), "090Y");
  EXPECT_EQ(text(ds, DCM_PatientSex), "F");
  EXPECT_EQ(text(ds, DCM_Modality), "DX");
  EXPECT_EQ(text(ds, DCM_ViewPosition), "PA");
  EXPECT_EQ(text(ds, DCM_BodyPartExamined), "");  // free text in a CS: emptied
  EXPECT_EQ(text(ds, DCM_PatientBirthDate), "");
  EXPECT_EQ(text(ds, DCM_AccessionNumber), "");
  EXPECT_EQ(text(ds, DCM_InstitutionName), "<absent>");
  EXPECT_EQ(text(ds, DCM_PatientIdentityRemoved), "YES");
  EXPECT_EQ(text(ds, DCM_StudyInstanceUID), deid.remap_uid("1.2.3.4.5"));
  EXPECT_EQ(text(ds, DCM_SOPClassUID), "1.2.840.10008.5.1.4.1.1.1.1");
  EXPECT_EQ(text(ds, DCM_StudyDate), shift_date("20110301", deid.date_shift_days("MRN-1")));
  EXPECT_FALSE(ds.tagExists(DcmTagKey(0x0009, 0x1001)));
  EXPECT_FALSE(ds.tagExists(DCM_ReferencedStudySequence));
  EXPECT_TRUE(ds.tagExists(DCM_DeidentificationMethodCodeSequence));
}

TEST(Deidentify, MappingsAreKeyedDeterministicAndValid) {
  const Deidentifier a("key-one-0123456789"), b("key-two-0123456789");
  EXPECT_EQ(a.patient_pseudonym("MRN-1"), a.patient_pseudonym("MRN-1"));
  EXPECT_NE(a.patient_pseudonym("MRN-1"), a.patient_pseudonym("MRN-2"));
  EXPECT_NE(a.patient_pseudonym("MRN-1"), b.patient_pseudonym("MRN-1"));
  for (const std::string uid : {"1.2.3", "1.2.840.113619.2.1", ""}) {
    const std::string mapped = a.remap_uid(uid);
    EXPECT_EQ(mapped, a.remap_uid(uid));
    EXPECT_NE(mapped, b.remap_uid(uid));
    ASSERT_EQ(mapped.rfind("2.25.", 0), 0u);
    EXPECT_LE(mapped.size(), 64u);
    EXPECT_NE(mapped[5], '0');
    EXPECT_EQ(mapped.find_first_not_of("0123456789", 5), std::string::npos) << mapped;
  }
  for (int p = 0; p < 50; ++p) {
    const int days = a.date_shift_days("MRN-" + std::to_string(p));
    EXPECT_GE(days, 1);
    EXPECT_LE(days, 3650);
  }
}

TEST(Deidentify, DatesShiftAcrossMonthsYearsAndLeapDays) {
  EXPECT_EQ(shift_date("20120301", 1), "20120229");
  EXPECT_EQ(shift_date("20110301", 1), "20110228");
  EXPECT_EQ(shift_date("20200101", 366), "20181231");
  EXPECT_EQ(shift_date("20110501", 89), "20110201");
  EXPECT_EQ(shift_date("2011050", 1), "");
  EXPECT_EQ(shift_date("20111301", 1), "");
  EXPECT_EQ(shift_date("PHICANARY", 1), "");
}

TEST(Deidentify, BurnedInAnnotationExcludesUnlessAllowed) {
  const Deidentifier deid("key-one-0123456789");
  DcmDataset excluded, allowed;
  fill(excluded, "MRN-1", "20110301");
  fill(allowed, "MRN-1", "20110301");
  excluded.putAndInsertString(DCM_BurnedInAnnotation, "YES");
  allowed.putAndInsertString(DCM_BurnedInAnnotation, "YES");
  EXPECT_EQ(deid.apply(&excluded, BurnedInPolicy::kExclude), DeidOutcome::kBurnedInExcluded);
  EXPECT_EQ(deid.apply(&allowed, BurnedInPolicy::kAllow), DeidOutcome::kDeidentified);
  EXPECT_EQ(text(allowed, DCM_BurnedInAnnotation), "YES");
  EXPECT_EQ(all_values(allowed).find("SECRET"), std::string::npos);
}

}  // namespace
}  // namespace radflow::dataset
