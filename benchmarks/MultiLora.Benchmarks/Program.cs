// Benchmarks are added per area; each prints a table and writes JSON under benchmarks/results/.
if (args.Length > 0 && args[0] == "data-loader") return MultiLora.Benchmarks.DataLoaderBenchmark.Run(args[1..]);
Console.WriteLine("usage: dotnet run -c Release --project benchmarks/MultiLora.Benchmarks -- <benchmark>");
Console.WriteLine("benchmarks: data-loader [records]");
return 0;
