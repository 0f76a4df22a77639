#pragma once
// Limits that every import of untrusted tables (datasets, predictions) enforces.
#include <cstddef>
#include <cstdint>

namespace mcval::dataset {

/// Caps on an imported file. The defaults suit real multi-centre studies with room to spare;
/// tests lower them.
struct ImportLimits {
  std::uintmax_t max_file_bytes = std::uintmax_t{2} << 30;  ///< files read from a path
  std::size_t max_rows = 10'000'000;                        ///< data rows (the header row not counted)
  std::size_t max_id_bytes = 256;                           ///< slide_id, patient_id, centre, dataset name, model
  std::size_t max_text_bytes = 1024;                        ///< scanner, specimen, exclude_reason
  std::size_t max_errors = 100;                             ///< errors listed; the rest are counted ("and N more")
};

}  // namespace mcval::dataset
