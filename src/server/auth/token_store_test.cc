#include "server/auth/token_store.h"

#include <atomic>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/sha256.h"
#include "testing/testing.h"

namespace vigil::server::auth {
namespace {

// Three tokens, one per scope; the secrets are what clients send.
constexpr std::string_view kReaderSecret = "vgl_reader-secret";
constexpr std::string_view kTrainerSecret = "vgl_trainer-secret";
constexpr std::string_view kAdminSecret = "vgl_admin-secret";

std::string Stanza(std::string_view name, std::string_view secret, std::string_view scope,
                   std::string_view projects_line) {
  return fmt::format("[[token]]\nname = \"{}\"\nsha256 = \"{}\"\nscope = \"{}\"\n{}\n", name,
                     Sha256Hex(secret), scope, projects_line);
}

std::string ThreeTokens() {
  return Stanza("reader", kReaderSecret, "read", R"(projects = ["*"])") +
         Stanza("trainer", kTrainerSecret, "write", R"(projects = ["digits", "llm-*"])") +
         Stanza("root", kAdminSecret, "admin", "");
}

TokenStore ParseOk(std::string_view toml) {
  auto store = TokenStore::Parse(toml, "tokens.toml");
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return std::move(*TokenStore::Parse("", "empty"));
  return std::move(*store);
}

// The error of parsing `toml`, which must fail with InvalidArgument.
std::string ParseError(std::string_view toml) {
  auto store = TokenStore::Parse(toml, "tokens.toml");
  EXPECT_FALSE(store.ok()) << toml;
  if (store.ok()) return "";
  EXPECT_TRUE(store.status().IsInvalidArgument()) << store.status().ToString();
  return store.status().message();
}

std::string Bearer(std::string_view secret) {
  return fmt::format("Bearer {}", secret);
}

// ------------------------------------------------------------ authenticate

TEST(TokenStore, AuthenticatesEachScope) {
  TokenStore store = ParseOk(ThreeTokens());
  EXPECT_EQ(3u, store.size());
  auto reader = store.Authenticate(Bearer(kReaderSecret));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ("reader", reader->name());
  EXPECT_EQ(Scope::kRead, reader->scope());
  auto trainer = store.Authenticate(Bearer(kTrainerSecret));
  ASSERT_TRUE(trainer.ok());
  EXPECT_EQ("trainer", trainer->name());
  EXPECT_EQ((std::vector<std::string>{"digits", "llm-*"}), trainer->grant().projects);
  auto root = store.Authenticate(Bearer(kAdminSecret));
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(Scope::kAdmin, root->scope());
}

TEST(TokenStore, ScopeRulesThroughAuthenticatedPrincipals) {
  TokenStore store = ParseOk(ThreeTokens());
  Principal reader = *store.Authenticate(Bearer(kReaderSecret));
  Principal trainer = *store.Authenticate(Bearer(kTrainerSecret));
  Principal root = *store.Authenticate(Bearer(kAdminSecret));
  EXPECT_TRUE(reader.Check("anything", Access::kRead).ok());
  EXPECT_EQ("token 'reader' may not write to project 'digits'",
            reader.Check("digits", Access::kWrite).message());
  EXPECT_TRUE(trainer.Check("digits", Access::kWrite).ok());
  EXPECT_TRUE(trainer.Check("llm-70b", Access::kWrite).ok());
  EXPECT_EQ("token 'trainer' may not write to project 'x'",
            trainer.Check("x", Access::kWrite).message());
  EXPECT_TRUE(root.Check("x", Access::kWrite).ok());
  EXPECT_TRUE(reader.CanAccessAllProjects(Access::kRead));
  EXPECT_FALSE(trainer.CanAccessAllProjects(Access::kRead));
  EXPECT_TRUE(root.CanAccessAllProjects(Access::kWrite));
}

TEST(TokenStore, MissingOrOtherSchemeIsUnauthenticated) {
  TokenStore store = ParseOk(ThreeTokens());
  std::string secret(kAdminSecret);
  for (std::string header :
       {std::string(""), std::string("   "), std::string("Bearer"), std::string("Bearer   "),
        "Basic " + secret, secret, "Bearerx " + secret}) {
    auto p = store.Authenticate(header);
    ASSERT_FALSE(p.ok()) << header;
    EXPECT_EQ(StatusCode::kUnauthenticated, p.status().code());
    EXPECT_EQ("missing Authorization: Bearer token", p.status().message()) << header;
  }
}

TEST(TokenStore, UnknownSecretIsUnauthenticated) {
  TokenStore store = ParseOk(ThreeTokens());
  for (std::string secret : {std::string("vgl_nope"), std::string(kAdminSecret) + "x",
                             std::string(kAdminSecret).substr(1), Sha256Hex(kAdminSecret)}) {
    auto p = store.Authenticate(Bearer(secret));
    ASSERT_FALSE(p.ok()) << secret;
    EXPECT_EQ(StatusCode::kUnauthenticated, p.status().code());
    EXPECT_EQ("unknown token", p.status().message());
  }
}

TEST(TokenStore, SchemeIgnoresCaseAndSpacesAroundSecretAreTrimmed) {
  TokenStore store = ParseOk(ThreeTokens());
  std::string secret(kTrainerSecret);
  for (std::string header : {"bearer " + secret, "BEARER " + secret, "Bearer \t " + secret + " ",
                             "  Bearer " + secret}) {
    auto p = store.Authenticate(header);
    ASSERT_TRUE(p.ok()) << header << ": " << p.status().ToString();
    EXPECT_EQ("trainer", p->name());
  }
}

TEST(TokenStore, UpperCaseHexDigestIsAccepted) {
  std::string hex = Sha256Hex("s3cret");
  for (auto& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  TokenStore store =
      ParseOk(fmt::format("[[token]]\nname = \"a\"\nsha256 = \"{}\"\nscope = \"admin\"\n", hex));
  EXPECT_TRUE(store.Authenticate("Bearer s3cret").ok());
}

TEST(TokenStore, EmptyFileHasNoTokens) {
  TokenStore store = ParseOk("# no tokens yet\n");
  EXPECT_EQ(0u, store.size());
  EXPECT_EQ("unknown token", store.Authenticate(Bearer(kAdminSecret)).status().message());
}

TEST(TokenStore, AdminWithStarProjectsIsAccepted) {
  TokenStore store = ParseOk(Stanza("root", kAdminSecret, "admin", R"(projects = ["*"])"));
  auto p = store.Authenticate(Bearer(kAdminSecret));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->CanAccessAllProjects(Access::kWrite));
}

// ------------------------------------------------------------ file errors

TEST(TokenStoreErrors, SyntaxErrorHasLineAndColumn) {
  std::string msg = ParseError("[[token]]\nname = \"a\"\nscope = write\n");
  EXPECT_EQ(0u, msg.find("tokens.toml:3:")) << msg;
}

TEST(TokenStoreErrors, UnknownScopeNamesLine) {
  std::string msg = ParseError(Stanza("a", "s1", "read", R"(projects = ["*"])") +
                               Stanza("b", "s2", "writer", R"(projects = ["*"])"));
  EXPECT_EQ("tokens.toml:9: token 'b': unknown scope 'writer' (expected read, write or admin)",
            msg);
}

TEST(TokenStoreErrors, HashOfWrongLength) {
  std::string msg = ParseError("[[token]]\nname = \"a\"\nsha256 = \"abc\"\nscope = \"admin\"\n");
  EXPECT_EQ(
      "tokens.toml:3: token 'a': sha256 must be 64 hex digits (the SHA-256 of the secret), "
      "got 3 characters",
      msg);
}

TEST(TokenStoreErrors, HashWithNonHexCharacter) {
  std::string hex = Sha256Hex("x");
  hex[10] = 'g';
  std::string msg =
      ParseError(fmt::format("[[token]]\nname = \"a\"\nsha256 = \"{}\"\nscope = \"admin\"\n", hex));
  EXPECT_NE(std::string::npos, msg.find("not a hex digit at position 10")) << msg;
  EXPECT_EQ(0u, msg.find("tokens.toml:3:")) << msg;
}

TEST(TokenStoreErrors, DuplicateName) {
  std::string msg = ParseError(Stanza("a", "s1", "admin", "") + Stanza("a", "s2", "admin", ""));
  EXPECT_EQ("tokens.toml:6: duplicate token name 'a' (first defined at line 1)", msg);
}

TEST(TokenStoreErrors, DuplicateHash) {
  std::string msg = ParseError(Stanza("a", "same", "admin", "") +
                               Stanza("b", "same", "read", R"(projects = ["*"])"));
  EXPECT_EQ(
      "tokens.toml:8: token 'b' has the same sha256 as token 'a': each token needs its own "
      "secret",
      msg);
}

TEST(TokenStoreErrors, UnknownKeyInToken) {
  std::string msg = ParseError(Stanza("a", "s", "read", R"(project = ["*"])"));
  EXPECT_NE(std::string::npos, msg.find("token 'a': unknown key 'project'")) << msg;
  EXPECT_EQ(0u, msg.find("tokens.toml:5:")) << msg;
}

TEST(TokenStoreErrors, UnknownTopLevelKey) {
  std::string msg = ParseError("tokens = []\n");
  EXPECT_NE(std::string::npos, msg.find("unknown top-level key 'tokens'")) << msg;
}

TEST(TokenStoreErrors, TokenAsSingleTable) {
  std::string msg = ParseError("[token]\nname = \"a\"\n");
  EXPECT_NE(std::string::npos, msg.find("write each token as [[token]]")) << msg;
}

TEST(TokenStoreErrors, MissingFields) {
  EXPECT_NE(std::string::npos,
            ParseError("[[token]]\nscope = \"admin\"\n").find("token without a 'name'"));
  EXPECT_NE(std::string::npos,
            ParseError("[[token]]\nname = \"a\"\nscope = \"admin\"\n").find("missing 'sha256'"));
  EXPECT_NE(std::string::npos,
            ParseError(fmt::format("[[token]]\nname = \"a\"\nsha256 = \"{}\"\n", Sha256Hex("s")))
                .find("token 'a': missing 'scope'"));
}

TEST(TokenStoreErrors, WrongTypes) {
  EXPECT_NE(std::string::npos, ParseError("[[token]]\nname = 5\n").find("'name' must be a string"));
  EXPECT_NE(std::string::npos, ParseError(Stanza("a", "s", "read", R"(projects = "digits")"))
                                   .find("'projects' must be an array of strings"));
  EXPECT_NE(std::string::npos, ParseError(Stanza("a", "s", "read", R"(projects = ["a", 1])"))
                                   .find("'projects' must be an array of strings"));
  EXPECT_NE(std::string::npos,
            ParseError("[[token]]\nname = \"a\"\nsha256 = 1\n").find("'sha256' must be a string"));
}

TEST(TokenStoreErrors, GrantRulesApply) {
  EXPECT_NE(std::string::npos,
            ParseError(Stanza("a", "s", "write", "")).find("at least one project"));
  EXPECT_NE(std::string::npos,
            ParseError(Stanza("a", "s", "write", "projects = []")).find("at least one project"));
  EXPECT_NE(std::string::npos,
            ParseError(Stanza("a", "s", "read", R"(projects = ["a*b"])")).find("only at the end"));
  std::string msg = ParseError(Stanza("a", "s", "admin", R"(projects = ["digits"])"));
  EXPECT_EQ(0u, msg.find("tokens.toml:1: token 'a': scope admin covers every project")) << msg;
}

// ------------------------------------------------------------ files, reload

TEST(TokenStoreFile, MissingFileIsIOError) {
  testing::TempDir dir;
  auto store = TokenStore::Load(dir.Join("absent.toml"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(StatusCode::kIOError, store.status().code());
  EXPECT_NE(std::string::npos, store.status().message().find("absent.toml"));
}

TEST(TokenStoreFile, ErrorsNameThePath) {
  testing::TempDir dir;
  std::string path = dir.Join("tokens.toml");
  testing::WriteFileOrDie(path, Stanza("a", "s", "nope", ""));
  auto store = TokenStore::Load(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(0u, store.status().message().find(path + ":4: token 'a': unknown scope"))
      << store.status().message();
}

TEST(TokenStoreFile, ReloadSwapsInTheNewTokens) {
  testing::TempDir dir;
  std::string path = dir.Join("tokens.toml");
  testing::WriteFileOrDie(path, Stanza("old", "old-secret", "admin", ""));
  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(path, store->path());
  Principal before = *store->Authenticate("Bearer old-secret");
  testing::WriteFileOrDie(path, Stanza("new", "new-secret", "read", R"(projects = ["*"])"));
  ASSERT_TRUE(store->Reload().ok());
  EXPECT_EQ("unknown token", store->Authenticate("Bearer old-secret").status().message());
  auto after = store->Authenticate("Bearer new-secret");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ("new", after->name());
  // A principal from before the reload stays valid for its request.
  EXPECT_EQ("old", before.name());
  EXPECT_TRUE(before.Check("x", Access::kWrite).ok());
}

TEST(TokenStoreFile, FailedReloadKeepsCurrentTokens) {
  testing::TempDir dir;
  std::string path = dir.Join("tokens.toml");
  testing::WriteFileOrDie(path, Stanza("old", "old-secret", "admin", ""));
  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok());
  testing::WriteFileOrDie(path, "[[token]]\nname = \n");
  Status st = store->Reload();
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(std::string::npos, st.message().find(path));
  EXPECT_TRUE(store->Authenticate("Bearer old-secret").ok());
  EXPECT_EQ(1u, store->size());
}

TEST(TokenStoreFile, ReloadOfEmptiedFileRevokesEverything) {
  testing::TempDir dir;
  std::string path = dir.Join("tokens.toml");
  testing::WriteFileOrDie(path, Stanza("old", "old-secret", "admin", ""));
  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok());
  testing::WriteFileOrDie(path, "");
  ASSERT_TRUE(store->Reload().ok());
  EXPECT_EQ(0u, store->size());
  EXPECT_FALSE(store->Authenticate("Bearer old-secret").ok());
}

TEST(TokenStoreFile, ReloadOfParsedStoreIsFailedPrecondition) {
  TokenStore store = ParseOk(ThreeTokens());
  EXPECT_EQ(StatusCode::kFailedPrecondition, store.Reload().code());
}

TEST(TokenStoreFile, AuthenticateWhileReloading) {
  testing::TempDir dir;
  std::string path = dir.Join("tokens.toml");
  std::string both =
      Stanza("a", "secret-a", "admin", "") + Stanza("b", "secret-b", "read", R"(projects = ["*"])");
  testing::WriteFileOrDie(path, both);
  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    while (!stop.load()) {
      // "a" is in every version of the file.
      if (!store->Authenticate("Bearer secret-a").ok()) failures.fetch_add(1);
    }
  });
  for (int i = 0; i < 200; ++i) {
    Status st = store->Reload();
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(0, failures.load());
}

// ------------------------------------------------------------ new tokens

TEST(TokenSecrets, GeneratedSecretsLookRightAndDiffer) {
  auto a = TokenStore::GenerateSecret();
  auto b = TokenStore::GenerateSecret();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  for (const std::string& s : {*a, *b}) {
    EXPECT_EQ(0u, s.find("vgl_"));
    EXPECT_EQ(4u + 43u, s.size());  // 32 bytes in unpadded base64url
    EXPECT_EQ(std::string::npos, s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                                     "qrstuvwxyz0123456789-_",
                                                     4))
        << s;
  }
}

TEST(TokenSecrets, StanzaParsesBackAndAuthenticates) {
  auto secret = TokenStore::GenerateSecret();
  ASSERT_TRUE(secret.ok());
  TokenGrant grant{
      .name = "ci \"nightly\" \\ ü", .scope = Scope::kWrite, .projects = {"digits", "llm-*"}};
  auto stanza = TokenStore::TokenStanza(grant, *secret);
  ASSERT_TRUE(stanza.ok()) << stanza.status().ToString();
  EXPECT_EQ(std::string::npos, stanza->find(*secret)) << "the secret itself must not be written";
  // Appended to an existing file, as `vigil token create` will.
  TokenStore store = ParseOk(ThreeTokens() + *stanza);
  EXPECT_EQ(4u, store.size());
  auto p = store.Authenticate(Bearer(*secret));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(grant.name, p->name());
  EXPECT_EQ(Scope::kWrite, p->scope());
  EXPECT_EQ(grant.projects, p->grant().projects);
}

TEST(TokenSecrets, AdminStanzaOmitsProjects) {
  auto stanza =
      TokenStore::TokenStanza({.name = "root", .scope = Scope::kAdmin, .projects = {}}, "s");
  ASSERT_TRUE(stanza.ok());
  EXPECT_EQ(std::string::npos, stanza->find("projects"));
  TokenStore store = ParseOk(*stanza);
  EXPECT_TRUE(store.Authenticate("Bearer s").ok());
}

TEST(TokenSecrets, StanzaRejectsBadGrantOrEmptySecret) {
  EXPECT_TRUE(TokenStore::TokenStanza({.name = "a", .scope = Scope::kRead, .projects = {}}, "s")
                  .status()
                  .IsInvalidArgument());
  EXPECT_TRUE(TokenStore::TokenStanza({.name = "a", .scope = Scope::kAdmin, .projects = {}}, "")
                  .status()
                  .IsInvalidArgument());
}

}  // namespace
}  // namespace vigil::server::auth
