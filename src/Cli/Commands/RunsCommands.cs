using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiLora.Sweeps.Registry;
using MultiLora.Sweeps.Reporting;
using Spectre.Console;

namespace MultiLora.Cli.Commands;

/// <summary>`multilora runs list|show` (the registry of a workspace) and `multilora report` (a sweep's table and figures).</summary>
static class RunsCommands
{
    static Option<string> WorkspaceOption() => new("--workspace") { Description = "The sweep workspace (holding runs.db).", Required = true };

    static RunRegistry OpenExisting(string workspace)
    {
        string path = Path.Combine(workspace, "runs.db");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no run registry here", path);
        return RunRegistry.Open(path);
    }

    public static Command Create()
    {
        var runs = new Command("runs", "The run registry of a sweep workspace.");
        runs.Subcommands.Add(List());
        runs.Subcommands.Add(Show());
        return runs;
    }

    static Command List()
    {
        var workspace = WorkspaceOption();
        var sweep = new Option<string?>("--sweep") { Description = "Only this sweep's runs." };
        var json = new Option<bool>("--json") { Description = "A JSON list (id, sweep, cell, status, error, metrics, cost, ...)." };
        var cmd = new Command("list", "Every run: kind, cell, status, scores and cost.");
        foreach (var o in new Option[] { workspace, sweep, json }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            using var registry = OpenExisting(p.GetValue(workspace)!);
            var rows = registry.Runs(p.GetValue(sweep));
            if (p.GetValue(json))
            {
                var list = new JsonArray(rows.Select(r => (JsonNode)RunJson.Of(r, registry.Evals(r.Id))).ToArray());
                Console.WriteLine(list.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            var table = new Table().AddColumns("id", "sweep", "kind", "run", "status", "steps", "scores", "device-h", "samples/s");
            foreach (var r in rows)
            {
                var scores = string.Join(" ", registry.Evals(r.Id).Where(e => e.Metric is "accuracy" or "exact_match").Select(e => $"{e.Task}={e.Value:0.0}"));
                table.AddRow(r.Id.ToString(CultureInfo.InvariantCulture), r.Sweep, r.Kind, Markup.Escape(r.Key), r.Status, r.LastStep.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(scores), r.DeviceHours.ToString("0.0000", CultureInfo.InvariantCulture), r.SamplesPerSecond.ToString("0.0", CultureInfo.InvariantCulture));
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }

    static Command Show()
    {
        var workspace = WorkspaceOption();
        var id = new Argument<long>("id") { Description = "Run id (from `runs list`)." };
        var cmd = new Command("show", "One run in full as JSON: cell, status, scores, cost, resolved recipe, per-step metrics.");
        cmd.Arguments.Add(id);
        cmd.Options.Add(workspace);
        cmd.SetAction(p =>
        {
            using var registry = OpenExisting(p.GetValue(workspace)!);
            long runId = p.GetValue(id);
            var row = registry.Run(runId) ?? throw new ArgumentException($"{registry.Path}: no run with id {runId}");
            var json = RunJson.Of(row, registry.Evals(runId));
            json["recipe"] = row.Recipe;
            json["steps_detail"] = new JsonArray(registry.Metrics(runId).Select(m => (JsonNode)new JsonObject
            {
                ["step"] = m.Step, ["loss"] = m.Loss, ["lr"] = m.LearningRate, ["grad_norm"] = m.GradNorm, ["tokens"] = m.Tokens,
                ["samples"] = m.Samples, ["tokens_per_s"] = m.TokensPerSecond, ["samples_per_s"] = m.SamplesPerSecond, ["elapsed_s"] = m.ElapsedSeconds,
            }).ToArray());
            Console.WriteLine(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return cmd;
    }

    public static Command Report()
    {
        var workspace = WorkspaceOption();
        var sweep = new Option<string>("--sweep") { Description = "The sweep's name (the grid's name).", Required = true };
        var output = new Option<string>("--out") { Description = "Folder for report.md, the PNG figures and their CSVs.", Required = true };
        var cmd = new Command("report", "A sweep's report: the paper's table (axes, scores, cost) and figures, from the registry.");
        foreach (var o in new Option[] { workspace, sweep, output }) cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            using var registry = OpenExisting(p.GetValue(workspace)!);
            var files = SweepReport.Write(registry, p.GetValue(sweep)!, p.GetValue(output)!);
            foreach (var f in files) AnsiConsole.MarkupLineInterpolated($"wrote {f}");
            return 0;
        });
        return cmd;
    }
}
