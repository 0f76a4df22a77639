#pragma once
// SessionStore: the browser sessions and the sign-ins in progress, kept in the shared store so
// that every server replica knows them (a sign-in may start on one replica and finish on
// another; a sign-out on one ends the session on all) and they survive restarts.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mcval/common/result.h"

namespace mcval::catalog {

/// One browser session. The cookie's secret is never stored: `key` is its hex SHA-256.
struct StoredSession {
  std::string key;             ///< hex SHA-256 of the session cookie's secret
  std::string user_id;         ///< the principal's stable id (SHA-256 of issuer and subject)
  std::string display_name;    ///< for `mcval sessions list` only
  std::string principal_json;  ///< the verified principal, as auth::principal_to_json writes it
  std::string csrf_token;
  std::string refresh_token;   ///< empty: the issuer gave none
  std::int64_t access_expires_unix = 0;  ///< expiry of the current access token
  std::int64_t ends_unix = 0;            ///< end of the session, whatever happens
  std::int64_t created_unix = 0;
};

/// A sign-in between /auth/login and /auth/callback: taken once, by whichever replica gets the
/// callback.
struct StoredPendingLogin {
  std::string state_key;  ///< hex SHA-256 of the OAuth `state`
  std::string binding;    ///< the value of the login cookie set in the browser
  std::string nonce;
  std::string code_verifier;
  std::string return_to;
  std::int64_t expires_unix = 0;
};

/// Thread-safe. Times are Unix seconds given by the caller (testable with a fake clock).
class SessionStore {
 public:
  virtual ~SessionStore() = default;

  virtual Status put_pending_login(const StoredPendingLogin& login) = 0;
  /// Removes the sign-in and returns it; nullopt when unknown, already taken or expired at `now`.
  /// Of two concurrent takes of one state, exactly one gets it.
  virtual Result<std::optional<StoredPendingLogin>> take_pending_login(const std::string& state_key,
                                                                       std::int64_t now) = 0;

  /// Inserts the session (a session with the same key is replaced).
  virtual Status put_session(const StoredSession& session) = 0;
  /// The session, when it exists and has not ended at `now`.
  virtual Result<std::optional<StoredSession>> find_session(const std::string& key, std::int64_t now) = 0;
  /// Stores renewed tokens; false when the session no longer exists (signed out meanwhile).
  virtual Result<bool> update_session_tokens(const std::string& key, const std::string& principal_json,
                                             std::int64_t access_expires_unix,
                                             const std::string& refresh_token) = 0;
  /// Ends one session; false when there was none with this key.
  virtual Result<bool> delete_session(const std::string& key) = 0;
  /// Sessions that have not ended at `now`, newest first.
  virtual Result<std::vector<StoredSession>> list_sessions(std::int64_t now) = 0;
  /// Ends every session of a user (`user_id`), or every session whose key starts with `key_prefix`
  /// (at least 8 hex digits); returns how many ended.
  virtual Result<std::int64_t> revoke_sessions(const std::string& user_id, const std::string& key_prefix) = 0;
  /// Deletes ended sessions and expired sign-ins; returns how many rows went.
  virtual Result<std::int64_t> purge_expired(std::int64_t now) = 0;
};

}  // namespace mcval::catalog
