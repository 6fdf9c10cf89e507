// SqlStore on PostgreSQL (issue 12): the same store code over PgConnection, and a listener
// that hears other nodes' changes (sql_store.h, note 6). SQLite's own upkeep (PRAGMAs,
// max_page_count, WAL, file backups) does not apply: the database server owns durability and
// size.
#include "store/pg_connection.h"
#include "store/pg_listener.h"
#include "store/pg_schema.h"
#include "store/sql_store.h"
#include "vigil/protocol/crypto.h"

namespace vigil::syncd {

Result<std::unique_ptr<SqlStore>> SqlStore::OpenPostgres(const std::string& url, bool create,
                                                         SqlStoreOptions options) {
  if (options.max_db_bytes > 0) {
    return Status::InvalidArgument(
        "a database size limit is SQLite's (max_page_count); on PostgreSQL the server's disk "
        "and quotas limit it");
  }
  ConnectionFactory connect = [url]() -> Result<std::unique_ptr<sql::Connection>> {
    VIGIL_ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(url));
    return std::unique_ptr<sql::Connection>(std::move(conn));
  };
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<sql::Connection> writer, connect());
  if (create) {
    VIGIL_RETURN_IF_ERROR(MigratePgSchema(*writer));
  } else {
    VIGIL_ASSIGN_OR_RETURN(int version, PgSchemaVersion(*writer));
    if (version == 0) {
      return Status::FailedPrecondition("the PostgreSQL database is not an initialized store");
    }
    if (version != kSchemaVersion) VIGIL_RETURN_IF_ERROR(MigratePgSchema(*writer));
  }
  // The node id only tells this store's own notifications apart (sql_store.h, note 6).
  VIGIL_ASSIGN_OR_RETURN(std::string node_bytes, protocol::RandomBytes(12));
  std::unique_ptr<SqlStore> store(new SqlStore(std::move(connect), std::move(writer), options,
                                               protocol::HexEncode(node_bytes)));
  VIGIL_ASSIGN_OR_RETURN(
      store->listener_,
      PgListener::Start(url, "vigil_changes", [raw = store.get()](const std::string& payload) {
        if (payload != raw->node_id_) raw->remote_changes_.fetch_add(1);
      }));
  return store;
}

}  // namespace vigil::syncd
