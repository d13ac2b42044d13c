using System.CommandLine;
using System.Globalization;
using MultiLora.Core.Diagnostics;
using MultiLora.Sweeps.Execution;
using MultiLora.Sweeps.Grid;
using MultiLora.Sweeps.Launchers;
using MultiLora.Sweeps.Planning;
using MultiLora.Sweeps.Registry;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>
/// `multilora sweep run|status|cancel|cell GRID.yaml`: a scaling grid run here (local) or on Slurm, its state,
/// cancelling its jobs, and the one run a local process or an array task executes.
/// </summary>
static class SweepCommands
{
    public static Command Create()
    {
        var sweep = new Command("sweep", "Scaling studies: a grid of recipe values, run here or on Slurm, recorded in WORKSPACE/runs.db.");
        sweep.Subcommands.Add(RunCommand());
        sweep.Subcommands.Add(StatusCommand());
        sweep.Subcommands.Add(CancelCommand());
        sweep.Subcommands.Add(CellCommand());
        return sweep;
    }

    static Argument<string> GridArgument() => new("grid") { Description = "Grid YAML (name, recipe, workspace, axes, eval, launcher...)." };

    /// <summary>How this multilora starts itself for each run: the assembly the CLI lives in, under the same dotnet.</summary>
    internal static SelfCommand Self() => SelfCommand.For(typeof(SweepCommands).Assembly.Location);

    static Command RunCommand()
    {
        var grid = GridArgument();
        var dryRun = new Option<bool>("--dry-run") { Description = "List the runs with trainable/total parameters and estimated memory; run nothing." };
        var cmd = new Command("run", "Run (or continue) a sweep: shared stage-1 runs, then every cell; finished cells are skipped, interrupted ones resume.");
        cmd.Arguments.Add(grid);
        cmd.Options.Add(dryRun);
        cmd.SetAction(p =>
        {
            var spec = GridLoader.Load(p.GetValue(grid)!);
            var plan = SweepPlanner.Plan(spec);
            if (p.GetValue(dryRun))
            {
                DryRun.Print(plan);
                return 0;
            }
            var progress = new SweepProgressDisplay();
            SweepPreparation.Prepare(spec, progress.Message);
            using var registry = RunRegistry.Open(spec.RegistryPath);
            registry.Sync(spec.Name, plan.Runs, spec.Launcher.Devices);
            registry.RecordSweep(new SweepRow(spec.Name, spec.File, spec.Launcher.Type, RunContext.ToolCommit(), Environment.MachineName, HardwareInfo.Describe()));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            if (spec.Launcher.Type == LauncherSpec.Slurm)
            {
                new SlurmLauncher(Self(), new SlurmClient(), progress).Submit(plan, registry);
                AnsiConsole.MarkupLineInterpolated($"submitted; follow with `multilora sweep status {spec.File}`");
                return 0;
            }
            var failed = new LocalLauncher(Self(), progress).Run(plan, registry);
            var cells = registry.Runs(spec.Name).Count(r => r.Kind == "cell" && r.Status == RunStatus.Done);
            AnsiConsole.MarkupLineInterpolated($"sweep {spec.Name}: {cells} of {plan.Cells.Count()} cells done in {clock.Elapsed.TotalSeconds:0} s; registry {registry.Path}");
            if (failed.Count == 0) return 0;
            AnsiConsole.MarkupLineInterpolated($"[red]failed:[/] {string.Join("; ", failed)}");
            return 1;
        });
        return cmd;
    }

    static Command StatusCommand()
    {
        var grid = GridArgument();
        var cmd = new Command("status", "Each run's state (queued / running / done / failed / interrupted), step, Slurm job and error.");
        cmd.Arguments.Add(grid);
        cmd.SetAction(p =>
        {
            var spec = GridLoader.Load(p.GetValue(grid)!);
            if (!File.Exists(spec.RegistryPath)) throw new FileNotFoundException($"{spec.RegistryPath}: no registry yet (run `multilora sweep run {spec.File}` first)");
            using var registry = RunRegistry.Open(spec.RegistryPath);
            var states = SweepStatus.Read(registry, spec.Name, spec.Workspace, SlurmClient.Installed() ? new SlurmClient() : null);
            var table = new Table().AddColumns("id", "kind", "run", "state", "step", "job", "detail");
            foreach (var s in states)
                table.AddRow(s.Row.Id.ToString(CultureInfo.InvariantCulture), s.Row.Kind, Markup.Escape(s.Row.Key), Colour(s.State),
                    s.Row.TotalSteps is { } t ? $"{s.Row.LastStep}/{t}" : s.Row.LastStep > 0 ? s.Row.LastStep.ToString(CultureInfo.InvariantCulture) : "",
                    s.Row.SlurmJob ?? "", Markup.Escape(s.Detail ?? ""));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"{states.Count(s => s.State == RunStatus.Done)} done, {states.Count(s => s.State == RunStatus.Failed)} failed, {states.Count(s => s.State == RunStatus.Running)} running, {states.Count(s => s.State == RunStatus.Queued)} queued, {states.Count(s => s.State == RunStatus.Interrupted)} interrupted");
            return 0;
        });
        return cmd;
    }

    static string Colour(string state) => state switch
    {
        RunStatus.Done => "[green]done[/]",
        RunStatus.Failed => "[red]failed[/]",
        RunStatus.Running => "[blue]running[/]",
        RunStatus.Interrupted => "[yellow]interrupted[/]",
        _ => state,
    };

    static Command CancelCommand()
    {
        var grid = GridArgument();
        var cmd = new Command("cancel", "scancel the sweep's Slurm jobs; their unfinished runs are recorded as failed (cancelled) and rerun by the next `sweep run`.");
        cmd.Arguments.Add(grid);
        cmd.SetAction(p =>
        {
            var spec = GridLoader.Load(p.GetValue(grid)!);
            if (spec.Launcher.Type != LauncherSpec.Slurm)
                throw new InvalidOperationException($"{spec.File}: launcher is local: a local sweep runs in the foreground (stop it with Ctrl+C; `sweep run` resumes it)");
            using var registry = RunRegistry.Open(spec.RegistryPath);
            var jobs = new SlurmLauncher(Self(), new SlurmClient(), new SweepProgressDisplay()).Cancel(spec.Name, registry);
            AnsiConsole.MarkupLineInterpolated($"cancelled {jobs.Count} job(s): {string.Join(", ", jobs)}");
            return 0;
        });
        return cmd;
    }

    static Command CellCommand()
    {
        var grid = GridArgument();
        var key = new Option<string>("--key") { Description = "The run's key as `sweep status` lists it (a cell's axis=value list, or stage1:HASH).", Required = true };
        var cmd = new Command("cell", "Run one run of a sweep in this process (what the launchers start; resumes from its last checkpoint).");
        cmd.Arguments.Add(grid);
        cmd.Options.Add(key);
        cmd.SetAction(p =>
        {
            ParentWatch.StartIfAsked();
            var spec = GridLoader.Load(p.GetValue(grid)!);
            var plan = SweepPlanner.Plan(spec);
            var run = plan.Get(p.GetValue(key)!);
            using var registry = RunRegistry.Open(spec.RegistryPath);
            TrainingProgress.Run(observer =>
            {
                RunExecutor.Execute(plan, run, registry, observer, RunContext.Current());
                return 0;
            });
            var row = registry.Run(spec.Name, run.Key)!;
            AnsiConsole.MarkupLineInterpolated($"{run.Key}: {row.Status}, {row.WallSeconds:0.0} s training, peak {MemoryProbe.Format(row.PeakMemoryBytes ?? 0)}");
            return 0;
        });
        return cmd;
    }
}
