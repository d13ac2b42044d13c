using System.Diagnostics;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Sweeps;

/// <summary>
/// A folder with a micro-sized grid (built-in "micro" LLaVA, a few steps, tiny synthetic data prepared by the grid
/// itself) and the multilora CLI of this build run as a separate process, as a user or a Slurm task runs it.
/// </summary>
sealed class SweepTestbed : IDisposable
{
    readonly Fixture.TempDir _tmp = Fixture.Temp();
    public string Root => _tmp.Path;
    public string Grid => _tmp.File("grid.yaml");
    public string Workspace => _tmp.File("ws");
    public string Registry => Path.Combine(Workspace, "runs.db");

    public SweepTestbed(string name, string axes, string launcher = "local", int steps = 6, int saveEvery = 2, string stage2Mixture = "data/stage2.yaml")
    {
        File.WriteAllText(_tmp.File("stage1.yaml"), """
            data: {mixture: data/stage1.yaml, max_length: 128, aspect: crop}
            stage: 1
            template: plain
            batch_size: 4
            max_steps: 2
            """);
        File.WriteAllText(_tmp.File("stage2.yaml"), $"""
            data: {"{"}mixture: {stage2Mixture}, max_length: 128, aspect: crop{"}"}
            stage: 2
            template: llava_hf
            lora: {"{"}rank: 4{"}"}
            optim: {"{"}lr: 3.0e-3{"}"}
            batch_size: 4
            max_steps: {steps}
            save_every: {saveEvery}
            seed: 3
            """);
        File.WriteAllText(Grid, $"""
            name: {name}
            workspace: ws
            prepare:
              synthetic_data: {"{"}out: data, resolution: 16, train: 24, eval: 4, seed: 1{"}"}
            stage1_recipe: stage1.yaml
            recipe: stage2.yaml
            axes:
            {axes}
            eval:
              tasks: [synth_vqa, synth_pope]
              data_root: data
              limit: 3
              batch_size: 4
            launcher: {launcher}
            """);
    }

    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "multilora.dll");

    /// <summary>A file of the repository this test build came from (scripts/, sweeps/).</summary>
    public static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
    }

    public Process Start(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var info = new ProcessStartInfo(MultiLora.Sweeps.Launchers.SelfCommand.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Root };
        info.ArgumentList.Add(CliDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["TERM"] = "dumb";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) info.Environment[k] = v;
        return Process.Start(info)!;
    }

    /// <summary>Runs the CLI to the end; returns its exit code and output (stdout + stderr).</summary>
    public (int Code, string Output) Run(IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        using var p = Start(env, args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) { p.Kill(true); throw new TimeoutException($"multilora {string.Join(" ", args)} ran over 10 minutes"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    public void Dispose() => _tmp.Dispose();
}
