using Microsoft.Data.Sqlite;

namespace MultiLora.Sweeps.Registry;

/// <summary>
/// The registry's schema as numbered migrations; PRAGMA user_version holds the number applied. Opening a registry
/// applies the missing ones in one transaction, so an older runs.db is upgraded in place (never recreated), and
/// a runs.db from a newer MultiLora is refused rather than written in a shape it does not know.
/// </summary>
public static class RegistrySchema
{
    public static readonly IReadOnlyList<string[]> Migrations =
    [
        // 1: runs, per-step metrics, eval results
        [
            """
            CREATE TABLE runs(
              id INTEGER PRIMARY KEY,
              sweep TEXT NOT NULL,
              kind TEXT NOT NULL,
              run_key TEXT NOT NULL,
              axes TEXT NOT NULL,
              recipe TEXT NOT NULL,
              recipe_hash TEXT NOT NULL,
              upstream TEXT,
              output_dir TEXT NOT NULL,
              status TEXT NOT NULL,
              error TEXT,
              host TEXT,
              pid INTEGER,
              device TEXT,
              devices INTEGER NOT NULL DEFAULT 1,
              git_commit TEXT,
              slurm_job TEXT,
              started_utc TEXT,
              finished_utc TEXT,
              total_steps INTEGER,
              wall_s REAL NOT NULL DEFAULT 0,
              eval_s REAL NOT NULL DEFAULT 0,
              peak_memory_bytes INTEGER,
              trainable_params INTEGER,
              total_params INTEGER,
              UNIQUE(sweep, run_key))
            """,
            """
            CREATE TABLE metrics(
              run_id INTEGER NOT NULL REFERENCES runs(id),
              step INTEGER NOT NULL,
              loss REAL NOT NULL,
              lr REAL NOT NULL,
              grad_norm REAL NOT NULL,
              tokens INTEGER NOT NULL,
              samples INTEGER NOT NULL,
              tokens_per_s REAL NOT NULL,
              samples_per_s REAL NOT NULL,
              elapsed_s REAL NOT NULL,
              eval_loss REAL,
              PRIMARY KEY(run_id, step))
            """,
            """
            CREATE TABLE evals(
              run_id INTEGER NOT NULL REFERENCES runs(id),
              task TEXT NOT NULL,
              metric TEXT NOT NULL,
              value REAL NOT NULL,
              PRIMARY KEY(run_id, task, metric))
            """,
        ],
        // 2: what each `sweep run` was started from (the report's header), and the status index
        [
            """
            CREATE TABLE sweeps(
              name TEXT PRIMARY KEY,
              grid_file TEXT NOT NULL,
              launcher TEXT NOT NULL,
              git_commit TEXT,
              host TEXT,
              hardware TEXT)
            """,
            "CREATE INDEX runs_by_status ON runs(sweep, status)",
        ],
    ];

    public static int Latest => Migrations.Count;

    /// <summary>Brings the database to <paramref name="target"/> (default: the latest); inside the caller's write transaction.</summary>
    public static void Migrate(SqliteConnection connection, SqliteTransaction transaction, string origin, int? target = null)
    {
        int want = target ?? Latest;
        int version = Version(connection, transaction);
        if (version > Latest)
            throw new InvalidDataException($"{origin}: registry schema version {version} is newer than this MultiLora knows ({Latest}); use a newer multilora");
        for (int v = version; v < want; v++)
        {
            foreach (var sql in Migrations[v]) Exec(connection, transaction, sql);
            Exec(connection, transaction, $"PRAGMA user_version = {v + 1}");
        }
    }

    public static int Version(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = "PRAGMA user_version";
        return Convert.ToInt32(cmd.ExecuteScalar());
    }

    static void Exec(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
