// SqlStore on PostgreSQL (issue 12): the same store code over PgConnection. SQLite's own
// upkeep (PRAGMAs, max_page_count, WAL, file backups) does not apply: the database server
// owns durability and size.
#include "store/pg_connection.h"
#include "store/pg_schema.h"
#include "store/sql_store.h"

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
  return std::unique_ptr<SqlStore>(new SqlStore(std::move(connect), std::move(writer), options));
}

}  // namespace vigil::syncd
