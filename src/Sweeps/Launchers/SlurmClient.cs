using System.Diagnostics;

namespace MultiLora.Sweeps.Launchers;

/// <summary>A Slurm job or array task as squeue or sacct reports it.</summary>
public sealed record SlurmTaskState(string Id, string State, string Reason);

/// <summary>
/// sbatch, squeue, sacct and scancel, run as processes. squeue knows jobs until shortly after they end; sacct
/// knows finished ones only where accounting storage is set up, and says so otherwise (then it is not asked
/// again): finished states come from the registry and the array tasks' exit records instead.
/// </summary>
public sealed class SlurmClient
{
    bool? _accounting;

    public static bool Installed() => Which("sbatch") is not null;

    /// <summary>Submits a script; returns the job id (sbatch --parsable).</summary>
    public string Submit(string script, IReadOnlyList<string> dependsOn)
    {
        var args = new List<string> { "--parsable" };
        if (dependsOn.Count > 0) args.Add("--dependency=afterok:" + string.Join(":", dependsOn));
        args.Add(script);
        var (code, output, error) = Run("sbatch", args);
        if (code != 0) throw new InvalidOperationException($"sbatch {script}: {error.Trim()} (exit {code})");
        return output.Trim().Split(';')[0];
    }

    /// <summary>Every queued or running job and array task ("123_4"), by id.</summary>
    public Dictionary<string, SlurmTaskState> Queue()
    {
        var (code, output, error) = Run("squeue", ["-h", "-r", "-o", "%i|%T|%r"]);
        if (code != 0) throw new InvalidOperationException($"squeue: {error.Trim()} (exit {code})");
        return Parse(output);
    }

    /// <summary>Final states from accounting, or an empty map where accounting is not available.</summary>
    public Dictionary<string, SlurmTaskState> Accounting(IEnumerable<string> jobIds)
    {
        var ids = jobIds.Distinct().ToList();
        if (ids.Count == 0 || _accounting == false || Which("sacct") is null) return [];
        var (code, output, _) = Run("sacct", ["-n", "-P", "-X", "-o", "JobID,State,Reason", "-j", string.Join(",", ids)]);
        _accounting = code == 0;
        return code == 0 ? Parse(output) : [];
    }

    public void Cancel(IEnumerable<string> jobIds)
    {
        var ids = jobIds.Distinct().ToList();
        if (ids.Count == 0) return;
        var (code, _, error) = Run("scancel", ids);
        if (code != 0) throw new InvalidOperationException($"scancel {string.Join(" ", ids)}: {error.Trim()} (exit {code})");
    }

    static Dictionary<string, SlurmTaskState> Parse(string output)
    {
        var states = new Dictionary<string, SlurmTaskState>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('|');
            if (parts.Length >= 2) states[parts[0]] = new SlurmTaskState(parts[0], parts[1].Split(' ')[0], parts.Length > 2 ? parts[2] : "");
        }
        return states;
    }

    static (int Code, string Output, string Error) Run(string program, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output.Result, error);
    }

    static string? Which(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
}
