// The database schema as an ordered list of migrations.
//
// Migration i (0-based) moves the schema from version i to version i + 1; the
// version lives in PRAGMA user_version. migrate() applies the missing ones in
// order, each in its own transaction together with its user_version bump, so a
// crash leaves the database at a whole version. Migrations are only ever
// appended: editing a released one would leave existing databases behind.
// Stateless; call with exclusive use of `db` (Store calls it once, on open).
#pragma once

#include "common/status.h"
#include "storage/database.h"

namespace radflow::storage {

// The version a fully migrated database reports.
int latest_schema_version();

// Applies every migration past the database's user_version. A database newer
// than this build (user_version > latest) is refused with "storage_error".
Status migrate(Database &db);
// Applies migrations up to `version` only (tests build old databases with it).
Status migrate_to(Database &db, int version);

}  // namespace radflow::storage
