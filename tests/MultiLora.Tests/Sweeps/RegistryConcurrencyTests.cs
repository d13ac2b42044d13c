using System.Diagnostics;
using MultiLora.Sweeps.Registry;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Sweeps;

public class RegistryConcurrencyTests
{
    const int Writers = 8, Runs = 200, Metrics = 2000;

    [Fact]
    public async Task Eight_processes_writing_one_registry_at_once_lose_nothing_and_raise_nothing()
    {
        using var tmp = Fixture.Temp();
        string db = tmp.File("runs.db");
        string self = typeof(RegistryWriter).Assembly.Location;
        var processes = Enumerable.Range(0, Writers).Select(w =>
        {
            var info = new ProcessStartInfo(MultiLora.Sweeps.Launchers.SelfCommand.DotnetHost()) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { self, "registry-writer", db, w.ToString(), Runs.ToString(), Metrics.ToString() }) info.ArgumentList.Add(a);
            return Process.Start(info)!;
        }).ToList();
        var errors = processes.Select(p => (Out: p.StandardOutput.ReadToEndAsync(), Err: p.StandardError.ReadToEndAsync())).ToList();
        foreach (var p in processes) Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), "a writer did not finish in 5 minutes");
        for (int w = 0; w < Writers; w++)
        {
            string stderr = await errors[w].Err;
            Assert.True(processes[w].ExitCode == 0, $"writer {w} exited {processes[w].ExitCode}: {stderr}");
            Assert.Equal("", stderr);
        }

        using var registry = RunRegistry.Open(db);
        var rows = registry.Runs(RegistryWriter.Sweep);
        Assert.Equal(Writers * Runs, rows.Count);
        Assert.All(rows, r => Assert.Equal(RunStatus.Done, r.Status));
        long metricRows = 0;
        foreach (var r in rows)
        {
            int writer = int.Parse(r.Axes[0].Value), run = int.Parse(r.Axes[1].Value);
            var metrics = registry.Metrics(r.Id);
            metricRows += metrics.Count;
            Assert.Equal(Enumerable.Range(1, Metrics / Runs), metrics.Select(m => m.Step));
            Assert.All(metrics, m => Assert.Equal(RegistryWriter.Loss(writer, run, m.Step), m.Loss));
            Assert.Equal(writer + run / 1000.0, Assert.Single(registry.Evals(r.Id)).Value);
            Assert.Equal(1.5, r.WallSeconds);
        }
        Assert.Equal((long)Writers * Metrics, metricRows);
    }
}
