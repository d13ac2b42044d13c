using MultiLora.Tools.ScalarScan;

// dotnet run --project tools/ScalarScan -c Release [-- --check] [--dll PATH] [--out BannedSymbols.txt] [--report FILE]
// Scans TorchSharp.dll (the version Directory.Packages.props pins, from the NuGet cache) and writes BannedSymbols.txt;
// --check exits 1 when the committed file differs from what the scan gives.
string root = RepositoryRoot();
string? dll = Arg("--dll");
string output = Arg("--out") ?? Path.Combine(root, "BannedSymbols.txt");
string version = BannedSymbolsScan.TorchSharpVersion(root);
dll ??= Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
    "torchsharp", version, "lib", "net8.0", "TorchSharp.dll");
if (!File.Exists(dll)) { Console.Error.WriteLine($"{dll}: not found (restore the solution first, or pass --dll)"); return 2; }

var scan = BannedSymbolsScan.Run(dll, version);
if (Arg("--report") is { } report) File.WriteAllText(report, scan.Report);
Console.WriteLine(scan.Summary);
if (args.Contains("--check"))
{
    bool same = File.Exists(output) && File.ReadAllText(output) == scan.BannedSymbols;
    Console.WriteLine(same ? $"{output} is up to date" : $"{output} differs from the scan: regenerate it");
    return same ? 0 : 1;
}
File.WriteAllText(output, scan.BannedSymbols);
Console.WriteLine($"wrote {output}");
return 0;

string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}
