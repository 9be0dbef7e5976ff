// Who is calling, and what they may do: the grant of an API token (its
// scope and the projects it covers) and the checks the HTTP handlers make
// against it. TokenStore (token_store.h) turns a request's Authorization
// header into a Principal.
//
// Scopes: "read" reads; "write" reads and writes; both only in the projects
// listed. "admin" reads and writes every project (and, later, manages the
// server). Projects are listed by exact name or as a prefix with a trailing
// '*' ("llm-*"); "*" alone covers all projects.
//
// Thread-safety: a Principal is an immutable value; copies share the grant
// and may be used from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace vigil::server::auth {

enum class Access { kRead, kWrite };
enum class Scope { kRead, kWrite, kAdmin };

// "read", "write", "admin".
std::string_view ScopeName(Scope scope);
// InvalidArgument("unknown scope 'x' (expected read, write or admin)").
Result<Scope> ParseScope(std::string_view name);

struct TokenGrant {
  std::string name;  // for logs and error messages; unique in a tokens file
  Scope scope = Scope::kRead;
  // Exact project names, "prefix*" patterns, or "*". Empty for admin (which
  // covers every project whatever it lists).
  std::vector<std::string> projects;
};

// OK if `grant` follows the rules above: a name of 1..128 printable
// characters, each pattern a project name (core/names.h) optionally ending
// in '*', or "*"; at least one pattern unless admin; admin lists none or
// only "*". Else InvalidArgument naming the token and the rule.
Status ValidateGrant(const TokenGrant& grant);

class Principal {
 public:
  // REQUIRES: ValidateGrant(*grant).ok()
  explicit Principal(std::shared_ptr<const TokenGrant> grant);

  // The principal of a server run without a tokens file: admin over every
  // project, named "anonymous".
  static Principal Unrestricted();

  const std::string& name() const { return grant_->name; }
  Scope scope() const { return grant_->scope; }
  const TokenGrant& grant() const { return *grant_; }

  // OK if the token may `access` `project`, else PermissionDenied:
  // "token 'trainer' may not write to project 'x'" or
  // "token 'viewer' may not read project 'x'".
  Status Check(std::string_view project, Access access) const;
  bool CanAccess(std::string_view project, Access access) const;
  // True if the token may `access` every project, present and future (for
  // listings that would otherwise filter project by project).
  bool CanAccessAllProjects(Access access) const;

 private:
  bool ScopeAllows(Access access) const;

  std::shared_ptr<const TokenGrant> grant_;  // never null
};

// Whether `pattern` ("*", "prefix*" or an exact name) covers `project`.
bool ProjectPatternMatches(std::string_view pattern, std::string_view project);

}  // namespace vigil::server::auth
