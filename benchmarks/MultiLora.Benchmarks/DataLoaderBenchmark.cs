using System.Diagnostics;
using MultiLora.Data.Errors;
using MultiLora.Data.Model;
using MultiLora.Data.Readers;

namespace MultiLora.Benchmarks;

/// <summary>
/// Streams a generated 100,000-record LLaVA JSON file through <see cref="LlavaJsonReader"/> and reports records/s
/// and the process's peak working set, to show the reader holds one record (plus a buffer), not the file.
/// Usage: dotnet run -c Release --project benchmarks/MultiLora.Benchmarks -- data-loader [records]
/// </summary>
static class DataLoaderBenchmark
{
    public static int Run(string[] args)
    {
        var records = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        var folder = Directory.CreateTempSubdirectory("multilora-bench-").FullName;
        try
        {
            var file = Path.Combine(folder, "llava_bench.json");
            var write = Stopwatch.StartNew();
            using (var writer = new LlavaJsonWriter(file, jsonLines: false))
                for (var i = 0; i < records; i++) writer.Write(Record(i));
            write.Stop();
            var size = new FileInfo(file).Length;
            var peakBefore = Process.GetCurrentProcess().PeakWorkingSet64;

            var read = Stopwatch.StartNew();
            long count = 0, turns = 0;
            foreach (var c in new LlavaJsonReader().Read(file, Data.Specs.ColumnMapping.Default, DataErrorPolicy.Fail()))
            {
                count++;
                turns += c.Turns.Count;
            }
            read.Stop();
            var peak = Process.GetCurrentProcess().PeakWorkingSet64;

            Console.WriteLine($"file: {records} records, {size / 1e6:F1} MB, written in {write.Elapsed.TotalSeconds:F2} s");
            Console.WriteLine($"read: {count} records ({turns} turns) in {read.Elapsed.TotalSeconds:F2} s = {count / read.Elapsed.TotalSeconds:F0} records/s, {size / 1e6 / read.Elapsed.TotalSeconds:F1} MB/s");
            Console.WriteLine($"peak working set: {peakBefore / 1e6:F1} MB before reading, {peak / 1e6:F1} MB after (file is {size / 1e6:F1} MB)");
            return count == records ? 0 : 1;
        }
        finally { Directory.Delete(folder, true); }
    }

    /// <summary>A LLaVA-mix-like record: image path, 2-6 turns of a few hundred characters.</summary>
    static Conversation Record(int i)
    {
        var turns = new List<Turn>();
        for (var t = 0; t < 2 + 2 * (i % 3); t++)
            turns.Add(t % 2 == 0
                ? new Turn(Speaker.Human, (t == 0 ? "<image>\n" : "") + $"What is happening in this image, part {t} of record {i}? Describe the objects, their colours and positions in detail.")
                : new Turn(Speaker.Gpt, string.Concat(Enumerable.Repeat($"The picture {i} shows a scene with several objects arranged on a table. ", 3))));
        return new Conversation($"{i:D9}", turns, i % 5 == 4 ? null : ImageSource.FromPath($"coco/train2017/{i:D12}.jpg"), "bench");
    }
}
