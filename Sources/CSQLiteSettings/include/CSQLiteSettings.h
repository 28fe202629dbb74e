#ifndef SCHOOLGATE_CSQLITESETTINGS_H
#define SCHOOLGATE_CSQLITESETTINGS_H

/// Turns off SQLite's memory statistics for the whole process. Returns SQLite's result code:
/// SQLITE_MISUSE (21) once SQLite has been initialized, when it is too late.
///
/// In C because `sqlite3_config` takes variable arguments, which Swift cannot call.
int schoolgate_sqlite_disable_memory_statistics(void);

#endif
