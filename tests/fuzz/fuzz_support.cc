#include "fuzz_support.h"

#include <cstdlib>

#include "vigil/protocol/signing.h"

namespace vigil::fuzz {

const protocol::Ed25519PrivateKey& DeviceKey() {
  static const protocol::Ed25519PrivateKey* key = [] {
    Result<protocol::Ed25519PrivateKey> made =
        protocol::Ed25519PrivateKey::FromSeed(std::string(protocol::kEd25519SeedSize, '\x42'));
    if (!made.ok()) std::abort();
    return new protocol::Ed25519PrivateKey(std::move(made).value());
  }();
  return *key;
}

const std::string& DeviceId() {
  static const std::string id = protocol::DeviceIdFromPublicKey(DeviceKey().public_key().raw());
  return id;
}

namespace {

v1::Question* AddQuestion(v1::FormDefinition& form, const std::string& id, v1::QuestionType type) {
  v1::Question* q = form.add_questions();
  q->set_id(id);
  q->set_type(type);
  (*q->mutable_label())["en"] = id;
  (*q->mutable_label())["km"] = "សំណួរ " + id;
  return q;
}

void AddOptions(v1::Question* q, std::initializer_list<const char*> ids) {
  for (const char* id : ids) {
    v1::Option* o = q->add_options();
    o->set_id(id);
    (*o->mutable_label())["en"] = id;
  }
}

}  // namespace

v1::FormDefinition SampleForm() {
  v1::FormDefinition form;
  form.set_form_id("fuzz");
  form.set_version(1);
  form.set_kind(v1::CHECKLIST);
  form.set_default_language("km");
  (*form.mutable_title())["en"] = "Fuzz";
  AddQuestion(form, "q_yes", v1::YES_NO)->set_required(true);
  v1::Question* q_int = AddQuestion(form, "q_int", v1::INTEGER);
  q_int->set_min(0);
  q_int->set_max(750);
  v1::Question* q_dec = AddQuestion(form, "q_dec", v1::DECIMAL);
  q_dec->set_min(-1.5);
  q_dec->set_max(100);
  v1::Question* q_one = AddQuestion(form, "q_one", v1::SELECT_ONE);
  AddOptions(q_one, {"a", "b", "c"});
  v1::Condition* when = q_one->add_relevant_when();
  when->set_question_id("q_yes");
  when->set_op(v1::EQUALS);
  when->mutable_value()->set_boolean(true);
  v1::Question* q_many = AddQuestion(form, "q_many", v1::SELECT_MANY);
  AddOptions(q_many, {"x", "y", "z"});
  v1::Condition* critical = q_many->add_critical_when();
  critical->set_question_id("q_many");
  critical->set_op(v1::CONTAINS);
  critical->mutable_value()->set_text("z");
  AddQuestion(form, "q_text", v1::TEXT)->set_max(50);
  AddQuestion(form, "q_time", v1::TIME);
  AddQuestion(form, "q_dt", v1::DATE_TIME);
  AddQuestion(form, "q_loc", v1::LOCATION);
  AddQuestion(form, "q_photo", v1::PHOTO_REFERENCE);
  v1::Question* q_int2 = AddQuestion(form, "q_int2", v1::INTEGER);
  v1::Condition* more = q_int2->add_relevant_when();
  more->set_question_id("q_int");
  more->set_op(v1::GREATER_THAN);
  more->mutable_value()->set_integer(10);
  v1::QaCheck* qa = form.add_qa_checks();
  qa->set_id("qa_sum");
  qa->add_left()->set_question_id("q_int");
  qa->add_left()->set_question_id("q_int2");
  qa->set_op(v1::LESS_OR_EQUAL);
  qa->add_right()->set_constant(750);
  return form;
}

}  // namespace vigil::fuzz
