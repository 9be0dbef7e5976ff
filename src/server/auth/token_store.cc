#include "server/auth/token_store.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/sha256.h"

namespace vigil::server::auth {

namespace {

struct TokenEntry {
  Sha256Digest digest;
  std::shared_ptr<const TokenGrant> grant;
};

// One version of the tokens file, immutable once built.
struct TokenSet {
  std::unordered_map<std::string, TokenEntry> by_hex;  // hex digest -> token
};

// Random bytes in a secret: 256 bits, beyond any guessing.
constexpr size_t kSecretBytes = 32;
constexpr std::string_view kSecretPrefix = "vgl_";

}  // namespace

struct TokenStore::State {
  std::string path;  // empty for Parse()
  mutable std::mutex mu;
  // Replaced whole by Reload(); readers copy the pointer under mu and use
  // their copy without the lock.
  std::shared_ptr<const TokenSet> tokens;  // GUARDED_BY(mu)

  std::shared_ptr<const TokenSet> Snapshot() const {
    std::lock_guard lock(mu);
    return tokens;
  }
};

namespace {

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open", path, errno);
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno("read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status ErrorAt(std::string_view source, const toml::source_region& where, std::string_view msg) {
  return Status::InvalidArgument(fmt::format("{}:{}: {}", source, where.begin.line, msg));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses one [[token]] table into `set`. `first_line` maps the names seen
// so far to the line of their table, for the duplicate message.
Status ParseToken(const toml::table& t, std::string_view source, TokenSet* set,
                  std::unordered_map<std::string, int64_t>* first_line) {
  const toml::node* name_node = t.get("name");
  if (name_node == nullptr) return ErrorAt(source, t.source(), "token without a 'name'");
  if (!name_node->is_string()) {
    return ErrorAt(source, name_node->source(), "token 'name' must be a string");
  }
  auto grant = std::make_shared<TokenGrant>();
  grant->name = **name_node->as_string();
  const std::string& name = grant->name;

  for (auto&& [key, node] : t) {
    std::string_view k = key.str();
    if (k != "name" && k != "sha256" && k != "scope" && k != "projects") {
      return ErrorAt(source, key.source(),
                     fmt::format("token '{}': unknown key '{}' (expected name, sha256, scope, "
                                 "projects)",
                                 name, k));
    }
  }

  const toml::node* hash_node = t.get("sha256");
  if (hash_node == nullptr) {
    return ErrorAt(source, t.source(), fmt::format("token '{}': missing 'sha256'", name));
  }
  if (!hash_node->is_string()) {
    return ErrorAt(source, hash_node->source(),
                   fmt::format("token '{}': 'sha256' must be a string", name));
  }
  const std::string& hex = **hash_node->as_string();
  if (hex.size() != 2 * kSha256DigestBytes) {
    return ErrorAt(source, hash_node->source(),
                   fmt::format("token '{}': sha256 must be {} hex digits (the SHA-256 of the "
                               "secret), got {} characters",
                               name, 2 * kSha256DigestBytes, hex.size()));
  }
  TokenEntry entry;
  for (size_t i = 0; i < kSha256DigestBytes; ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return ErrorAt(source, hash_node->source(),
                     fmt::format("token '{}': sha256 has a character that is not a hex digit "
                                 "at position {}",
                                 name, hi < 0 ? 2 * i : 2 * i + 1));
    }
    entry.digest[i] = static_cast<uint8_t>(hi << 4 | lo);
  }

  const toml::node* scope_node = t.get("scope");
  if (scope_node == nullptr) {
    return ErrorAt(source, t.source(), fmt::format("token '{}': missing 'scope'", name));
  }
  if (!scope_node->is_string()) {
    return ErrorAt(source, scope_node->source(),
                   fmt::format("token '{}': 'scope' must be a string", name));
  }
  auto scope = ParseScope(**scope_node->as_string());
  if (!scope.ok()) {
    return ErrorAt(source, scope_node->source(),
                   fmt::format("token '{}': {}", name, scope.status().message()));
  }
  grant->scope = *scope;

  if (const toml::node* projects = t.get("projects")) {
    const toml::array* arr = projects->as_array();
    if (arr == nullptr) {
      return ErrorAt(source, projects->source(),
                     fmt::format("token '{}': 'projects' must be an array of strings", name));
    }
    for (const toml::node& p : *arr) {
      if (!p.is_string()) {
        return ErrorAt(source, p.source(),
                       fmt::format("token '{}': 'projects' must be an array of strings", name));
      }
      grant->projects.push_back(**p.as_string());
    }
    // "*" on an admin token says what admin means anyway; keep the grant
    // in the one form Principal expects.
    if (grant->scope == Scope::kAdmin && grant->projects == std::vector<std::string>{"*"}) {
      grant->projects.clear();
    }
  }
  Status valid = ValidateGrant(*grant);
  if (!valid.ok()) return ErrorAt(source, t.source(), valid.message());

  int64_t line = t.source().begin.line;
  auto [seen, inserted] = first_line->emplace(name, line);
  if (!inserted) {
    return ErrorAt(
        source, t.source(),
        fmt::format("duplicate token name '{}' (first defined at line {})", name, seen->second));
  }
  std::string key = DigestToHex(entry.digest);
  if (auto it = set->by_hex.find(key); it != set->by_hex.end()) {
    return ErrorAt(source, hash_node->source(),
                   fmt::format("token '{}' has the same sha256 as token '{}': each token needs "
                               "its own secret",
                               name, it->second.grant->name));
  }
  entry.grant = std::move(grant);
  set->by_hex.emplace(std::move(key), std::move(entry));
  return Status::OK();
}

Result<std::shared_ptr<const TokenSet>> ParseTokens(std::string_view text,
                                                    std::string_view source) {
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                               e.source().begin.column, e.description()));
  }
  for (auto&& [key, node] : doc) {
    if (key.str() != "token") {
      return ErrorAt(
          source, key.source(),
          fmt::format("unknown top-level key '{}' (expected [[token]] tables)", key.str()));
    }
  }
  auto set = std::make_shared<TokenSet>();
  const toml::node* tokens = doc.get("token");
  if (tokens == nullptr) return std::shared_ptr<const TokenSet>(std::move(set));
  const toml::array* arr = tokens->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    return ErrorAt(source, tokens->source(),
                   "'token' must be an array of tables: write each token as [[token]]");
  }
  std::unordered_map<std::string, int64_t> first_line;
  for (const toml::node& node : *arr) {
    VIGIL_RETURN_IF_ERROR(ParseToken(*node.as_table(), source, set.get(), &first_line));
  }
  return std::shared_ptr<const TokenSet>(std::move(set));
}

// Equal digests, in time independent of where they differ.
bool ConstantTimeEquals(const Sha256Digest& a, const Sha256Digest& b) {
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

Status FillRandom(uint8_t* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(buf + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == ENOSYS) break;  // a kernel older than 3.17
    if (r < 0) return Status::FromErrno("getrandom", "", errno);
    got += static_cast<size_t>(r);
  }
  if (got == n) return Status::OK();
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open", "/dev/urandom", errno);
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int err = r < 0 ? errno : EIO;
      ::close(fd);
      return Status::FromErrno("read", "/dev/urandom", err);
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  return Status::OK();
}

// RFC 4648 section 5, without padding.
std::string Base64Url(const uint8_t* p, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

// `s` as a TOML basic string (quotes included).
std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\u{:04X}", u);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

TokenStore::TokenStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
TokenStore::TokenStore(TokenStore&&) noexcept = default;
TokenStore& TokenStore::operator=(TokenStore&&) noexcept = default;
TokenStore::~TokenStore() = default;

Result<TokenStore> TokenStore::Parse(std::string_view toml, std::string_view source_name) {
  VIGIL_ASSIGN_OR_RETURN(auto tokens, ParseTokens(toml, source_name));
  auto state = std::make_unique<State>();
  state->tokens = std::move(tokens);
  return TokenStore(std::move(state));
}

Result<TokenStore> TokenStore::Load(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  VIGIL_ASSIGN_OR_RETURN(auto tokens, ParseTokens(text, path));
  auto state = std::make_unique<State>();
  state->path = path;
  state->tokens = std::move(tokens);
  return TokenStore(std::move(state));
}

Status TokenStore::Reload() {
  if (state_->path.empty()) {
    return Status::FailedPrecondition("the token store was not loaded from a file");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(state_->path));
  VIGIL_ASSIGN_OR_RETURN(auto tokens, ParseTokens(text, state_->path));
  std::lock_guard lock(state_->mu);
  state_->tokens.swap(tokens);
  // The old set is released here, or by the last request still using it.
  return Status::OK();
}

Result<Principal> TokenStore::Authenticate(std::string_view authorization_header) const {
  static constexpr std::string_view kMissing = "missing Authorization: Bearer token";
  std::string_view h = TrimSpace(authorization_header);
  size_t space = h.find_first_of(" \t");
  if (space == std::string_view::npos || !EqualsIgnoringAsciiCase(h.substr(0, space), "bearer")) {
    return Status::Unauthenticated(std::string(kMissing));
  }
  std::string_view secret = TrimSpace(h.substr(space + 1));
  if (secret.empty()) return Status::Unauthenticated(std::string(kMissing));
  Sha256Digest digest = Sha256(secret);
  std::shared_ptr<const TokenSet> tokens = state_->Snapshot();
  auto it = tokens->by_hex.find(DigestToHex(digest));
  // The map finds the entry by its digest's text; the constant-time
  // comparison makes the final decision, whatever the map's compare leaks.
  if (it == tokens->by_hex.end() || !ConstantTimeEquals(it->second.digest, digest)) {
    return Status::Unauthenticated("unknown token");
  }
  return Principal(it->second.grant);
}

size_t TokenStore::size() const {
  return state_->Snapshot()->by_hex.size();
}

const std::string& TokenStore::path() const {
  return state_->path;
}

Result<std::string> TokenStore::GenerateSecret() {
  uint8_t bytes[kSecretBytes];
  VIGIL_RETURN_IF_ERROR(FillRandom(bytes, sizeof(bytes)));
  return std::string(kSecretPrefix) + Base64Url(bytes, sizeof(bytes));
}

Result<std::string> TokenStore::TokenStanza(const TokenGrant& grant, std::string_view secret) {
  VIGIL_RETURN_IF_ERROR(ValidateGrant(grant));
  if (secret.empty()) return Status::InvalidArgument("the secret must not be empty");
  std::string out = "[[token]]\n";
  out += fmt::format("name = {}\n", TomlString(grant.name));
  out += fmt::format("sha256 = \"{}\"\n", Sha256Hex(secret));
  out += fmt::format("scope = \"{}\"\n", ScopeName(grant.scope));
  if (grant.scope != Scope::kAdmin) {
    out += "projects = [";
    for (size_t i = 0; i < grant.projects.size(); ++i) {
      if (i > 0) out += ", ";
      out += TomlString(grant.projects[i]);
    }
    out += "]\n";
  }
  return out;
}

}  // namespace vigil::server::auth
