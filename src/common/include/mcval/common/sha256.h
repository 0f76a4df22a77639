#pragma once
// SHA-256 through OpenSSL's EVP interface.
#include <filesystem>
#include <string>
#include <string_view>

#include "mcval/common/result.h"

namespace mcval {

/// Lower-case hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);

/// Lower-case hex SHA-256 of a file, read in 1 MiB chunks (any size; io_error if unreadable).
Result<std::string> sha256_file_hex(const std::filesystem::path& path);

}  // namespace mcval
