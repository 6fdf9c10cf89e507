// The Java binding's tests on the host JVM against a real syncd over TLS: this driver sets up
// syncd with its admin commands (tests/integration/syncd_harness.h) and runs the Java test
// (org.vigil.client.test.VigilClientTest) and the embedding example of docs/embedding.md,
// passing the URL, enrollment payload and CA file as arguments.
#include <doctest/doctest.h>

#include <string>

#include "support/files.h"
#include "syncd_harness.h"

namespace vigil::testing {
namespace {

// `java` with the binding's jar, the tests' jar and vigil_jni on its paths, running `main`.
std::string Java(const std::string& main) {
  return std::string(VIGIL_JAVA) + " -Xcheck:jni -Djava.library.path=" + VIGIL_JNI_DIR + " -cp " +
         VIGIL_JAVA_CLASSPATH + " " + main;
}

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// A syncd with a broadcast in its inbox, serving on a port the OS picks.
void Prepare(Syncd& server) {
  server.Serve();
  server.Admin("broadcast --text \"Polls close at 15:00 today\" --lang en --author hq");
}

TEST_CASE("enroll, fill, incident, sync with progress, receipts, inbox over TLS") {
  Syncd server(VIGIL_FORMS_DIR);
  Prepare(server);
  TempDir dir;
  std::string out;
  const std::string cmd = Java("org.vigil.client.test.VigilClientTest sync ") +
                          Quoted(dir / "home") + " " + Quoted(server.url()) + " " +
                          Quoted(server.EnrollCode("obs1")) + " " + Quoted(server.ca_file());
  int rc = Shell(cmd, &out);
  CHECK_MESSAGE(rc == 0, cmd << "\n" << out);
  CHECK(out.find("all checks passed") != std::string::npos);
  CHECK(Stats(server).incidents() == 4);  // two, then one on a worker thread, one beside it
}

TEST_CASE("the embedding example of docs/embedding.md runs against syncd") {
  Syncd server(VIGIL_FORMS_DIR);
  Prepare(server);
  TempDir dir;
  std::string out;
  const std::string cmd = Java("EmbeddingExample ") + Quoted(dir / "home") + " " +
                          Quoted(server.EnrollCode("obs1")) + " " + Quoted(server.ca_file());
  int rc = Shell(cmd, &out);
  REQUIRE_MESSAGE(rc == 0, cmd << "\n" << out);
  CHECK(out.find("\"recordsOk\":2") != std::string::npos);
  CHECK(out.find("\"verified\":1") != std::string::npos);
  CHECK(out.find("Polls close at 15:00 today") != std::string::npos);
  CHECK(Stats(server).incidents() == 1);
  // Wiped: the PIN no longer opens anything.
  CHECK(Shell("ls " + Quoted(dir / "home") + "/* 2>/dev/null | wc -l", &out) == 0);
  CHECK(out == "0\n");
}

TEST_CASE("docs/embedding.md shows the example unchanged") {
  const std::string example = test_support::ReadFile(VIGIL_JAVA_EXAMPLE);
  const std::string doc = test_support::ReadFile(VIGIL_EMBEDDING_DOC);
  REQUIRE(!example.empty());
  CHECK_MESSAGE(doc.find("```java\n" + example + "```\n") != std::string::npos,
                "docs/embedding.md, \"Java\", must show tests/java/EmbeddingExample.java as is");
}

}  // namespace
}  // namespace vigil::testing
