// TokenStore: the API tokens a server accepts (`vigil serve --tokens FILE`),
// and the authentication of a request's "Authorization: Bearer <secret>"
// header against them.
//
// The file is TOML, one [[token]] table per token:
//
//   [[token]]
//   name = "trainer"                 # for logs and errors; unique
//   sha256 = "<64 hex digits>"       # SHA-256 of the secret, never the secret
//   scope = "write"                  # "read", "write" or "admin"
//   projects = ["digits", "llm-*"]   # names, "prefix*" patterns, or ["*"]
//
// (principal.h has the scope and project rules.) Unknown keys are errors, so
// a typo cannot silently widen or narrow a token. A file without tokens is
// valid: emptying the file and reloading revokes every token.
//
// Secrets are looked up by the hex SHA-256 of what the client sends; the
// stored and computed digests are then compared in constant time. Only
// digests are kept in memory.
//
// Thread-safety: Authenticate() and size() may be called from any thread,
// concurrently with Reload(), which swaps in the new token set atomically
// (a request sees the old set or the new one, never a mix). Move
// construction is not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/status.h"
#include "server/auth/principal.h"

namespace vigil::server::auth {

class TokenStore {
 public:
  // Reads and validates the tokens file at `path`. Errors name the file and
  // line: "tokens.toml:7: token 'trainer': unknown scope 'writer' (expected
  // read, write or admin)"; TOML syntax errors carry toml++'s line and
  // column; an unreadable file is IOError.
  static Result<TokenStore> Load(const std::string& path);
  // The same from TOML text; `source_name` stands for the path in errors.
  static Result<TokenStore> Parse(std::string_view toml, std::string_view source_name);

  TokenStore(TokenStore&&) noexcept;
  TokenStore& operator=(TokenStore&&) noexcept;
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;
  ~TokenStore();

  // `authorization_header` is the header's value ("" when absent). The
  // scheme is matched without regard to case (RFC 9110). Unauthenticated:
  // "missing Authorization: Bearer token" (absent, empty, or another
  // scheme), "unknown token" (no token has this secret).
  Result<Principal> Authenticate(std::string_view authorization_header) const;

  // Re-reads the file Load() read and, if it is valid, swaps its tokens in.
  // On error the current tokens stay in force and the error is returned.
  // FailedPrecondition for a store made by Parse().
  Status Reload();

  // How many tokens are in force.
  size_t size() const;
  // The file Load() read; empty for Parse().
  const std::string& path() const;

  // A new secret: "vgl_" and 43 base64url characters encoding 32 bytes
  // from the kernel's random source (getrandom). IOError if none is
  // available.
  static Result<std::string> GenerateSecret();

  // The [[token]] table granting `grant` to `secret`, ready to append to a
  // tokens file (for `vigil token create`); InvalidArgument if the grant
  // breaks ValidateGrant.
  static Result<std::string> TokenStanza(const TokenGrant& grant, std::string_view secret);

 private:
  struct State;
  explicit TokenStore(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;  // never null except after a move
};

}  // namespace vigil::server::auth
