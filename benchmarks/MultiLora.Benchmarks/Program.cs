// Benchmarks are added per area; each prints a table and writes JSON under benchmarks/results/.
Console.WriteLine("usage: dotnet run -c Release --project benchmarks/MultiLora.Benchmarks -- <benchmark>");
return 0;
