#include <sqlite3.h>

/// `SQLITE_TRANSIENT` is a cast macro that Swift does not import: this returns it as a value.
static inline sqlite3_destructor_type csqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

/// Wrapper around the variadic `sqlite3_db_config` to turn off double-quoted string literals,
/// so a misspelled column name is an error rather than a string.
static inline void csqlite_disable_dqs(sqlite3 *db) {
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, (void *)0);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (void *)0);
}

/// Wrapper around the variadic `sqlite3_db_config` to turn on defensive mode, which refuses
/// writes that can corrupt the file (`PRAGMA writable_schema`, direct page writes).
static inline void csqlite_enable_defensive(sqlite3 *db) {
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (void *)0);
}
