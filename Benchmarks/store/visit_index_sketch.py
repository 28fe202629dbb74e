#!/usr/bin/env python3
"""What the visit table's (subject, time) index costs an insert, in Python's sqlite3 with the
store's schema and pragmas (WAL, synchronous NORMAL, 8 MB cache, checkpoint every 32 MB).
A sketch, not the store: Python adds about 3-4 us a row to every figure alike. It compares
batch sizes, no index, and writing to an unindexed table moved into the indexed one in
sorted runs. Not part of the tests; writes only under /tmp.

    python3 Benchmarks/store/visit_index_sketch.py
"""
import os
import sqlite3
import tempfile
import time

COLUMNS = ("time, subject, user, grp, client, method, host, sni, url, verdict, rule, category, "
           "status, bytes_in, bytes_out, duration_ms")
SCHEMA = ("time REAL NOT NULL, subject TEXT NOT NULL, user TEXT, grp TEXT NOT NULL, client TEXT NOT NULL, "
          "method TEXT NOT NULL, host TEXT NOT NULL, sni TEXT, url TEXT, verdict TEXT NOT NULL, rule TEXT NOT NULL, "
          "category TEXT, status INTEGER NOT NULL, bytes_in INTEGER NOT NULL, bytes_out INTEGER NOT NULL, "
          "duration_ms INTEGER NOT NULL")


def run(batch, users, index=True, total=400_000, staging=0):
    directory = tempfile.mkdtemp(prefix="visit-index-sketch-")
    path = os.path.join(directory, "visits.sqlite")
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-8192", "wal_autocheckpoint=8192"):
        db.execute("PRAGMA " + pragma)
    db.execute(f"CREATE TABLE visit (id INTEGER PRIMARY KEY, {SCHEMA})")
    db.execute(f"CREATE TABLE recent (id INTEGER PRIMARY KEY, {SCHEMA})")
    if index:
        db.execute("CREATE INDEX visit_subject_time ON visit(subject, time)")
    db.execute("CREATE INDEX visit_time ON visit(time)")
    names = [f"pupil{i}" for i in range(users)]
    insert = f"INSERT INTO {{}} ({COLUMNS}) VALUES ({', '.join('?' * 16)})"
    cpu, wall, written, pending = time.process_time(), time.time(), 0, 0
    while written < total:
        rows = [(1.7e9 + (written + i) * 0.00005, names[(written + i) % users], names[(written + i) % users],
                 "pupils-ks3", "10.0.0.1", "GET", "example.com", None, "http://example.com/", "allow",
                 "default", None, 200, 1000, 200, 3) for i in range(batch)]
        db.execute("BEGIN")
        db.executemany(insert.format("recent" if staging else "visit"), rows)
        db.execute("COMMIT")
        written += batch
        pending += batch
        if staging and pending >= staging:
            db.execute("BEGIN")
            db.execute(f"INSERT INTO visit ({COLUMNS}) SELECT {COLUMNS} FROM recent ORDER BY subject, time")
            db.execute("DELETE FROM recent")
            db.execute("COMMIT")
            pending = 0
    cpu, wall = time.process_time() - cpu, time.time() - wall
    db.close()
    print(f"{total:>9} rows, batch {batch:>6}, {users:>5} users, index {'yes' if index else 'no ':3}, "
          f"staging {staging or '-':>6}: {total / wall:>8.0f} rows/s, {cpu / total * 1e6:5.2f} us CPU a row", flush=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    os.rmdir(directory)


if __name__ == "__main__":
    run(5_000, 1)
    run(5_000, 1_000, index=False)
    for batch in (5_000, 20_000, 100_000):
        run(batch, 1_000)
    run(5_000, 1_000, total=2_000_000)
    run(5_000, 1_000, total=2_000_000, staging=200_000)
