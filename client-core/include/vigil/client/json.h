// The device's results as JSON, for the C API (and through it the Java binding) and the
// observer CLI's --json output: one object or array per result, lowerCamelCase keys like
// protobuf's JSON mapping; messages of the protocol (broadcasts, incident statuses) in
// exactly that mapping. docs/embedding.md lists the shapes.
#pragma once

#include <string>
#include <vector>

#include "vigil/client/client.h"
#include "vigil/client/sync.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client {

// [{formId, version, kind, titleEn, titleKm, questions}]
std::string FormsToJson(const std::vector<FormSummary>& forms);
// ["a", "b"]
std::string StringsToJson(const std::vector<std::string>& strings);
// [{draftId, formId, formVersion, stationCode, startedAtMs, answered}]
std::string DraftsToJson(const std::vector<DraftSummary>& drafts);
// A draft to resume: {draftId, formId, formVersion, stationCode, startedAtMs, location?,
// answers: {questionId: value}} with the answers as AnswersToJson writes them.
std::string DraftToJson(const StoredRecord& draft);
// [{checkId, label: {lang: text}, questions: [ids]}]
std::string QaWarningsToJson(const std::vector<QaWarning>& warnings);
// {deviceId, serverId, observerId, stations: [codes], forms: [ids]}
std::string EnrollmentToJson(const v1::EnrollResponse& response);
// {batchesSent, recordsOk, recordsDuplicate, recordsRejected, rejections, recordsHeld, held,
//  retries, bytesSent, formsReceived, broadcastsReceived, incidentUpdates, serverLastSeq,
//  backedUpSeq, batchesResent, lostBatches, serverUrl, warnings}
std::string SyncReportToJson(const SyncReport& report);
// {verified, failures: ["batch 7: …"]}
std::string ReceiptCheckToJson(const ReceiptCheck& check);
// [vigil.v1.Broadcast in protobuf's JSON mapping], newest first.
std::string BroadcastsToJson(const std::vector<v1::Broadcast>& inbox);
// [vigil.v1.IncidentStatus in protobuf's JSON mapping].
std::string IncidentStatusesToJson(const std::vector<v1::IncidentStatus>& statuses);
// {sealedNow, batches: [{seq, file, records, bytes}], files: ["device.pub.pem", "server-id"]}
std::string OutboxExportToJson(const OutboxExport& exported);

}  // namespace vigil::client
