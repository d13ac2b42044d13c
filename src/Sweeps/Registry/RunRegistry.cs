using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using MultiLora.Llava.Training;
using MultiLora.Sweeps.Planning;

namespace MultiLora.Sweeps.Registry;

/// <summary>
/// WORKSPACE/runs.db: every run of every sweep in the workspace, their per-step metrics, scores and cost. Many
/// processes (Slurm array tasks on one shared filesystem, local runs side by side) write it at once: WAL journal,
/// a busy timeout, every write one short IMMEDIATE transaction, retried with jittered backoff while the
/// database is busy or locked. (WAL needs shared memory between the writers: a local disk, or a cluster
/// filesystem with POSIX locking such as Lustre or GPFS; not NFS without locking.)
/// </summary>
public sealed class RunRegistry : IDisposable
{
    const int BusyTimeoutMs = 10_000;
    static readonly TimeSpan RetryBudget = TimeSpan.FromMinutes(2);
    readonly SqliteConnection _db;

    public string Path { get; }

    RunRegistry(string path, SqliteConnection db)
    {
        Path = path;
        _db = db;
    }

    /// <summary>Opens (creating and migrating as needed) the registry; <paramref name="schemaVersion"/> stops at an older schema (tests).</summary>
    public static RunRegistry Open(string path, int? schemaVersion = null)
    {
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Pooling = false, DefaultTimeout = 60 }.ToString());
        var registry = new RunRegistry(full, db);
        try
        {
            Retry(full, () => db.Open());
            Retry(full, () =>
            {
                using var cmd = db.CreateCommand();
                cmd.CommandText = $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";
                cmd.ExecuteNonQuery();
            });
            registry.Write(tx => RegistrySchema.Migrate(db, tx, full, schemaVersion));
            return registry;
        }
        catch
        {
            registry.Dispose();
            throw;
        }
    }

    public int SchemaVersion => RegistrySchema.Version(_db);

    public void Dispose() => _db.Dispose();

    // ---- writes -------------------------------------------------------------------------------------------

    /// <summary>
    /// Adds the plan's runs that are new as queued. A run whose recipe changed since (another hash) starts over:
    /// its metrics and scores go, and it trains into the new hash's folder.
    /// </summary>
    public void Sync(string sweep, IEnumerable<PlannedRun> runs, int devices)
    {
        var list = runs.ToList();
        Write(tx =>
        {
            foreach (var run in list)
            {
                var existing = Scalar<string>(tx, "SELECT recipe_hash FROM runs WHERE sweep=$s AND run_key=$k", ("$s", sweep), ("$k", run.Key));
                if (existing == run.Hash) continue;
                if (existing is not null)
                {
                    long id = Scalar<long>(tx, "SELECT id FROM runs WHERE sweep=$s AND run_key=$k", ("$s", sweep), ("$k", run.Key));
                    Exec(tx, "DELETE FROM metrics WHERE run_id=$id; DELETE FROM evals WHERE run_id=$id;", ("$id", id));
                    Exec(tx, """
                        UPDATE runs SET recipe=$r, recipe_hash=$h, upstream=$u, output_dir=$o, status='queued', error=NULL, slurm_job=NULL,
                          started_utc=NULL, finished_utc=NULL, total_steps=NULL, wall_s=0, eval_s=0, peak_memory_bytes=NULL WHERE id=$id
                        """, ("$r", run.RecipeText), ("$h", run.Hash), ("$u", run.Upstream), ("$o", run.OutputDir), ("$id", id));
                    continue;
                }
                Exec(tx, """
                    INSERT INTO runs(sweep, kind, run_key, axes, recipe, recipe_hash, upstream, output_dir, status, devices, device)
                    VALUES($s, $kind, $k, $a, $r, $h, $u, $o, 'queued', $d, $dev)
                    """, ("$s", sweep), ("$kind", run.KindName), ("$k", run.Key), ("$a", AxesJson(run.Axes.Values)), ("$r", run.RecipeText),
                    ("$h", run.Hash), ("$u", run.Upstream), ("$o", run.OutputDir), ("$d", devices), ("$dev", run.Recipe.Device));
            }
        });
    }

    public void RecordSweep(SweepRow sweep) => Write(tx => Exec(tx, """
        INSERT INTO sweeps(name, grid_file, launcher, git_commit, host, hardware) VALUES($n, $g, $l, $c, $h, $hw)
        ON CONFLICT(name) DO UPDATE SET grid_file=$g, launcher=$l, git_commit=$c, host=$h, hardware=$hw
        """, ("$n", sweep.Name), ("$g", sweep.GridFile), ("$l", sweep.Launcher), ("$c", sweep.GitCommit), ("$h", sweep.Host), ("$hw", sweep.Hardware)));

    /// <summary>Marks a run as started by this process; started_utc keeps the first start.</summary>
    public void Claim(long id, string host, int pid, string? slurmJob, string? gitCommit) => Write(tx => Exec(tx, """
        UPDATE runs SET status='running', error=NULL, host=$h, pid=$p, slurm_job=COALESCE($j, slurm_job), git_commit=$c,
          started_utc=COALESCE(started_utc, $t), finished_utc=NULL WHERE id=$id
        """, ("$h", host), ("$p", pid), ("$j", slurmJob), ("$c", gitCommit), ("$t", Now()), ("$id", id)));

    public void SetQueued(long id, string? slurmJob) => Write(tx => Exec(tx,
        "UPDATE runs SET status='queued', error=NULL, slurm_job=$j, pid=NULL WHERE id=$id", ("$j", slurmJob), ("$id", id)));

    public void SetPlan(long id, int totalSteps, long trainable, long total) => Write(tx => Exec(tx,
        "UPDATE runs SET total_steps=$s, trainable_params=$tr, total_params=$to WHERE id=$id", ("$s", totalSteps), ("$tr", trainable), ("$to", total), ("$id", id)));

    /// <summary>Drops the metrics after <paramref name="step"/>: a resumed run repeats the steps after its checkpoint.</summary>
    public void TruncateMetrics(long id, int step) => Write(tx => Exec(tx, "DELETE FROM metrics WHERE run_id=$id AND step>$s", ("$id", id), ("$s", step)));

    public void AddMetric(long id, StepMetrics m) => Write(tx => Exec(tx, """
        INSERT OR REPLACE INTO metrics(run_id, step, loss, lr, grad_norm, tokens, samples, tokens_per_s, samples_per_s, elapsed_s, eval_loss)
        VALUES($id, $step, $loss, $lr, $g, $tok, $sam, $tps, $sps, $el, $ev)
        """, ("$id", id), ("$step", m.Step), ("$loss", m.Loss), ("$lr", m.LearningRate), ("$g", m.GradNorm), ("$tok", m.Tokens), ("$sam", m.Samples),
        ("$tps", m.TokensPerSecond), ("$sps", m.SamplesPerSecond), ("$el", m.ElapsedSeconds), ("$ev", m.EvalLoss)));

    public void SetEvals(long id, IEnumerable<EvalRow> scores)
    {
        var list = scores.ToList();
        Write(tx =>
        {
            Exec(tx, "DELETE FROM evals WHERE run_id=$id", ("$id", id));
            foreach (var s in list)
                Exec(tx, "INSERT INTO evals(run_id, task, metric, value) VALUES($id, $t, $m, $v)", ("$id", id), ("$t", s.Task), ("$m", s.Metric), ("$v", s.Value));
        });
    }

    /// <summary>
    /// A finished run's cost: training seconds (the attempts' work that was kept: a resumed run adds the seconds up to
    /// its checkpoint), the last attempt's eval seconds, and the highest peak memory any attempt reached.
    /// </summary>
    public void SetCost(long id, double trainSeconds, double evalSeconds, long peakMemoryBytes) => Write(tx => Exec(tx, """
        UPDATE runs SET wall_s=$w, eval_s=$e, peak_memory_bytes=MAX(COALESCE(peak_memory_bytes, 0), $p) WHERE id=$id
        """, ("$w", trainSeconds), ("$e", evalSeconds), ("$p", peakMemoryBytes), ("$id", id)));

    public void Finish(long id, string status, string? error) => Write(tx => Exec(tx,
        "UPDATE runs SET status=$s, error=$e, finished_utc=$t WHERE id=$id", ("$s", status), ("$e", error), ("$t", Now()), ("$id", id)));

    // ---- reads --------------------------------------------------------------------------------------------

    const string RunSelect = """
        SELECT r.id, r.sweep, r.kind, r.run_key, r.axes, r.recipe, r.recipe_hash, r.upstream, r.output_dir, r.status, r.error, r.host, r.pid,
               r.device, r.devices, r.git_commit, r.slurm_job, r.started_utc, r.finished_utc, r.total_steps, r.wall_s, r.eval_s,
               r.peak_memory_bytes, r.trainable_params, r.total_params,
               COALESCE(SUM(m.tokens), 0), COALESCE(SUM(m.samples), 0), COALESCE(MAX(m.step), 0),
               (SELECT loss FROM metrics WHERE run_id=r.id ORDER BY step DESC LIMIT 1)
        FROM runs r LEFT JOIN metrics m ON m.run_id = r.id
        """;

    public List<RunRow> Runs(string? sweep = null) => Read(tx =>
        Query(tx, RunSelect + (sweep is null ? "" : " WHERE r.sweep=$s") + " GROUP BY r.id ORDER BY r.id", ReadRun, ("$s", sweep)));

    public RunRow? Run(long id) => Read(tx => Query(tx, RunSelect + " WHERE r.id=$id GROUP BY r.id", ReadRun, ("$id", id)).FirstOrDefault());

    public RunRow? Run(string sweep, string key) => Read(tx =>
        Query(tx, RunSelect + " WHERE r.sweep=$s AND r.run_key=$k GROUP BY r.id", ReadRun, ("$s", sweep), ("$k", key)).FirstOrDefault());

    public List<MetricRow> Metrics(long id) => Read(tx => Query(tx,
        "SELECT step, loss, lr, grad_norm, tokens, samples, tokens_per_s, samples_per_s, elapsed_s, eval_loss FROM metrics WHERE run_id=$id ORDER BY step",
        r => new MetricRow(r.GetInt32(0), r.GetDouble(1), r.GetDouble(2), r.GetDouble(3), r.GetInt64(4), r.GetInt64(5), r.GetDouble(6), r.GetDouble(7),
            r.GetDouble(8), r.IsDBNull(9) ? null : r.GetDouble(9)), ("$id", id)));

    public List<EvalRow> Evals(long id) => Read(tx => Query(tx, "SELECT task, metric, value FROM evals WHERE run_id=$id ORDER BY task, metric",
        r => new EvalRow(r.GetString(0), r.GetString(1), r.GetDouble(2)), ("$id", id)));

    public SweepRow? Sweep(string name) => Read(tx => Query(tx, "SELECT name, grid_file, launcher, git_commit, host, hardware FROM sweeps WHERE name=$n",
        r => new SweepRow(r.GetString(0), r.GetString(1), r.GetString(2), Str(r, 3), Str(r, 4), Str(r, 5)), ("$n", name)).FirstOrDefault());

    public List<string> Sweeps() => Read(tx => Query(tx, "SELECT DISTINCT sweep FROM runs ORDER BY sweep", r => r.GetString(0)));

    static RunRow ReadRun(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), ParseAxes(r.GetString(4)), r.GetString(5), r.GetString(6), Str(r, 7), r.GetString(8),
        r.GetString(9), Str(r, 10), Str(r, 11), r.IsDBNull(12) ? null : r.GetInt32(12), Str(r, 13), r.GetInt32(14), Str(r, 15), Str(r, 16), Str(r, 17), Str(r, 18),
        r.IsDBNull(19) ? null : r.GetInt32(19), r.GetDouble(20), r.GetDouble(21), r.IsDBNull(22) ? null : r.GetInt64(22),
        r.IsDBNull(23) ? null : r.GetInt64(23), r.IsDBNull(24) ? null : r.GetInt64(24), r.GetInt64(25), r.GetInt64(26), r.GetInt32(27),
        r.IsDBNull(28) ? null : r.GetDouble(28));

    // ---- plumbing -----------------------------------------------------------------------------------------

    static string? Str(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    public static string AxesJson(IEnumerable<KeyValuePair<string, string>> axes)
    {
        var o = new JsonObject();
        foreach (var (k, v) in axes) o[k] = v;
        return o.ToJsonString();
    }

    static List<KeyValuePair<string, string>> ParseAxes(string json) =>
        JsonNode.Parse(json) is JsonObject o ? o.Select(kv => new KeyValuePair<string, string>(kv.Key, kv.Value?.GetValue<string>() ?? "")).ToList() : [];

    void Write(Action<SqliteTransaction> body) => Retry(Path, () =>
    {
        using var tx = _db.BeginTransaction(deferred: false);
        body(tx);
        tx.Commit();
    });

    T Read<T>(Func<SqliteTransaction, T> body)
    {
        T result = default!;
        Retry(Path, () =>
        {
            using var tx = _db.BeginTransaction(deferred: true);
            result = body(tx);
            tx.Commit();
        });
        return result;
    }

    /// <summary>Runs <paramref name="action"/> again while SQLite says busy or locked, with jittered exponential backoff, for up to two minutes.</summary>
    static void Retry(string origin, Action action)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int delay = 5;
        while (true)
        {
            try
            {
                action();
                return;
            }
            catch (SqliteException e) when (e.SqliteErrorCode is 5 or 6 && clock.Elapsed < RetryBudget)   // SQLITE_BUSY, SQLITE_LOCKED
            {
                Thread.Sleep(Random.Shared.Next(delay, delay * 2));
                delay = Math.Min(delay * 2, 500);
            }
            catch (SqliteException e)
            {
                throw new IOException($"{origin}: {e.Message}", e);
            }
        }
    }

    void Exec(SqliteTransaction tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(tx, sql, args);
        cmd.ExecuteNonQuery();
    }

    T? Scalar<T>(SqliteTransaction tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(tx, sql, args);
        var value = cmd.ExecuteScalar();
        return value is null or DBNull ? default : (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture);
    }

    List<T> Query<T>(SqliteTransaction tx, string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(tx, sql, args);
        using var reader = cmd.ExecuteReader();
        var list = new List<T>();
        while (reader.Read()) list.Add(map(reader));
        return list;
    }

    SqliteCommand Command(SqliteTransaction tx, string sql, (string Name, object? Value)[] args)
    {
        var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }
}
