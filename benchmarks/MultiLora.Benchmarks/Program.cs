// Benchmarks print a table and write JSON under benchmarks/results/. Run in Release:
//   dotnet run -c Release --project benchmarks/MultiLora.Benchmarks -- <benchmark> [options]
var benchmarks = new Dictionary<string, Func<string[], int>>
{
    ["data-loader"] = MultiLora.Benchmarks.DataLoaderBenchmark.Run,
    ["quantization"] = MultiLora.Benchmarks.QuantizationBenchmark.Run,
    ["load"] = MultiLora.Benchmarks.LoadBenchmark.Run,
    ["pipeline"] = MultiLora.Benchmarks.PipelineBenchmark.Run,
    ["train"] = MultiLora.Benchmarks.TrainBenchmark.Run,
    ["host-work"] = MultiLora.Benchmarks.HostWorkBenchmark.Run,
    ["parity"] = MultiLora.Benchmarks.Parity.FixtureParity.Command,
    ["anchor"] = MultiLora.Benchmarks.Anchor.AnchorBenchmark.Run,
    ["anchor-table"] = MultiLora.Benchmarks.Anchor.AnchorTable.Run,
    ["allreduce"] = MultiLora.Benchmarks.AllReduceBenchmark.Run,
    ["distributed-plan"] = MultiLora.Benchmarks.DistributedPlanBenchmark.Run,
    ["distributed-step"] = MultiLora.Benchmarks.DistributedStepBenchmark.Run,
    ["distributed-step-rank"] = MultiLora.Benchmarks.DistributedStepBenchmark.RunRank,
    ["optimizer"] = MultiLora.Benchmarks.OptimizerBenchmark.Run,
    ["tokenizer"] = MultiLora.Benchmarks.TokenizerBenchmark.Run,
    ["registry"] = MultiLora.Benchmarks.RegistryBenchmark.Run,
    ["serve"] = MultiLora.Benchmarks.ServeBenchmark.Run,
    ["serve-step"] = MultiLora.Benchmarks.ServeStepBenchmark.Run,
};
if (args.Length > 0 && benchmarks.TryGetValue(args[0], out var run))
{
    MultiLora.Core.Runtime.TorchRuntime.EnsureLoaded();
    return run(args[1..]);
}
Console.WriteLine("usage: dotnet run -c Release --project benchmarks/MultiLora.Benchmarks -- <benchmark> [options]");
Console.WriteLine($"benchmarks: {string.Join(", ", benchmarks.Keys)}");
return args.Length == 0 ? 0 : 2;
