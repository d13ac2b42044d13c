using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MultiLora.Distributed;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks;

/// <summary>
/// All-reduce bandwidth of a collective backend, nccl-tests style, for float32 messages from 1 KB to --max-mb MB (x4
/// steps). Run under a launcher: `mpirun -n 2 dotnet MultiLora.Benchmarks.dll allreduce [--backend mpi] [--max-mb 256]`.
/// Each size: a barrier, 2 warm-up calls, then enough timed calls to take about a second; the time is the slowest
/// rank's mean. algbw = bytes / time; busbw = algbw x 2(W-1)/W (the bytes each rank's link carries in a ring).
/// Baseline in the same process: a local copy_ of the same tensor (memory bandwidth: the floor MPI's shared-memory
/// transport cannot beat on one machine).
/// </summary>
public static class AllReduceBenchmark
{
    public static int Run(string[] args)
    {
        var backend = DistributedBackends.Parse(Arg(args, "--backend", "auto"), "--backend");
        if (!AnsiConsole.Profile.Capabilities.Interactive) AnsiConsole.Profile.Width = 160;   // tables, not wrapped columns, in logs
        long maxBytes = long.Parse(Arg(args, "--max-mb", "256"), CultureInfo.InvariantCulture) * 1024 * 1024;
        var launch = LaunchEnvironment.Detect();
        using var c = Collectives.Start(backend, launch, DeviceType.CPU, Distributed.Watchdog.WatchdogOptions.Default);
        var rows = new List<object>();
        var table = new Table().AddColumns("size", "calls", "time/call", "algbw MB/s", "busbw MB/s", "local copy MB/s", "all-reduce / copy");
        for (long bytes = 1024; bytes <= maxBytes; bytes *= 4)
        {
            using var scope = NewDisposeScope();
            var data = ones(bytes / sizeof(float), ScalarType.Float32);
            var copy = empty_like(data);
            int calls = (int)Math.Clamp(512L * 1024 * 1024 / bytes, 3, 400);
            c.Barrier();
            for (int i = 0; i < 2; i++) c.AllReduceSum(data);
            c.Barrier();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < calls; i++) c.AllReduceSum(data);
            double mine = clock.Elapsed.TotalSeconds / calls;
            double seconds = c.AllGather([mine]).Max();
            copy.copy_(data);   // first touch of the destination's pages is not part of the bandwidth
            clock.Restart();
            for (int i = 0; i < calls; i++) copy.copy_(data);
            double copySeconds = clock.Elapsed.TotalSeconds / calls;
            double algbw = bytes / seconds / 1e6, busbw = algbw * 2 * (c.WorldSize - 1) / c.WorldSize, copyBw = bytes / copySeconds / 1e6;
            rows.Add(new { bytes, calls, seconds_per_call = seconds, algbw_mb_s = algbw, busbw_mb_s = busbw, local_copy_mb_s = copyBw });
            table.AddRow(Size(bytes), calls.ToString(CultureInfo.InvariantCulture), $"{seconds * 1e6:0.0} us", F(algbw), F(busbw), F(copyBw), $"{algbw / copyBw:0.000}x");
        }
        if (c.Rank == 0)
        {
            AnsiConsole.MarkupLineInterpolated($"all-reduce (sum, float32) over {c.Description}, {c.WorldSize} ranks, {launch.Launcher}");
            AnsiConsole.Write(table);
            Directory.CreateDirectory(Path.Combine("benchmarks", "results"));
            string file = Path.Combine("benchmarks", "results", $"allreduce-{c.Description.Split(' ')[0]}-{c.WorldSize}ranks.json");
            File.WriteAllText(file, JsonSerializer.Serialize(new { benchmark = "allreduce", backend = c.Description, ranks = c.WorldSize, rows }, new JsonSerializerOptions { WriteIndented = true }));
            AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape(file)}[/]");
        }
        return 0;
    }

    static string F(double v) => v.ToString("N0", CultureInfo.InvariantCulture);

    static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MB" : $"{bytes >> 10} KB";

    static string Arg(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i < 0 ? fallback : i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name}: expected a value");
    }
}
