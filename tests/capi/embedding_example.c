/* A tablet's life through the C API: create the store, take a form, fill and finalize a
 * checklist with a warning checked on the way, see the counts, close. */
#include <stdio.h>
#include <string.h>

#include "vigil/client.h"

static const char* kForm =
    "{\"formId\": \"opening\", \"version\": 1, \"kind\": \"CHECKLIST\","
    " \"title\": {\"en\": \"Opening\"},"
    " \"questions\": ["
    "  {\"id\": \"members\", \"type\": \"INTEGER\", \"label\": {\"en\": \"Members\"},"
    "   \"min\": 0, \"max\": 9, \"required\": true},"
    "  {\"id\": \"women\", \"type\": \"INTEGER\", \"label\": {\"en\": \"Women\"},"
    "   \"min\": 0, \"max\": 9, \"required\": true}],"
    " \"qaChecks\": [{\"id\": \"women_le_members\", \"op\": \"LESS_OR_EQUAL\","
    "   \"left\": [{\"questionId\": \"women\"}], \"right\": [{\"questionId\": \"members\"}]}]}";

static int Fail(const char* what, const VigilError* err) {
  fprintf(stderr, "%s: error %d: %s\n", what, err->code, err->message);
  return 1;
}

int main(int argc, char** argv) {
  VigilError err;
  const char* home = argc > 1 ? argv[1] : "vigil-home";

  /* Once per tablet: a store protected by the observer's PIN. Later: vigil_client_open. */
  VigilClient* client = vigil_client_init(home, "246810", "training", &err);
  if (client == NULL) return Fail("init", &err);
  /* An enrolled tablet gets its forms from the server (vigil_client_enroll). */
  if (!vigil_client_import_form_json(client, kForm, &err)) return Fail("form", &err);

  char* draft = vigil_client_start_draft(client, "opening", "12-03-07-0452", &err);
  if (draft == NULL) return Fail("draft", &err);
  if (!vigil_client_set_answer_text(client, draft, "members", "5", &err) ||
      !vigil_client_set_answer_text(client, draft, "women", "7", &err)) {
    return Fail("answer", &err);
  }
  char* warnings = vigil_client_warnings_json(client, draft, &err);
  if (warnings == NULL) return Fail("warnings", &err);
  if (strcmp(warnings, "[]") != 0) {
    printf("check before finalizing: %s\n", warnings);
    if (!vigil_client_set_answer_text(client, draft, "women", "2", &err)) {
      return Fail("answer", &err);
    }
  }
  vigil_free(warnings);

  char* id = vigil_client_finalize(client, draft, &err);
  if (id == NULL) return Fail("finalize", &err);
  printf("finalized %s\n", id);
  vigil_free(id);
  vigil_free(draft);

  /* Sent by vigil_client_sync once enrolled; until then it waits in the outbox. */
  char* status = vigil_client_status_json(client, &err);
  if (status == NULL) return Fail("status", &err);
  printf("%s\n", status);
  vigil_free(status);

  vigil_client_close(client);
  return 0;
}
