using System.Text;
using System.Xml.Linq;

namespace MultiLora.Tools.ScalarScan;

/// <summary>The whole derivation: IL -> unsafe methods -> BannedSymbols.txt, plus a readable report of why each is banned.</summary>
public sealed record BannedSymbolsScan(string BannedSymbols, string Report, string Summary, IReadOnlyList<BannedEntry> Entries)
{
    public static BannedSymbolsScan Run(string torchSharpPath, string version)
    {
        var il = TorchSharpIl.Read(torchSharpPath);
        var found = ScalarTemporaries.Find(il);
        var entries = BannedList.Create(torchSharpPath, il, found);
        var report = new StringBuilder();
        foreach (var u in found.Values.OrderBy(u => u.Method.Display, StringComparer.Ordinal))
            report.AppendLine($"{u.Method.Display}: {string.Join(" -> ", u.Path.Skip(1).Select(p => p.Display).Append(u.Source.Display))}");
        int makers = il.Methods.Values.Count(m => m.Temporaries.Count > 0);
        string summary = $"TorchSharp {version}: {il.Methods.Count} methods scanned, {makers} make a Scalar temporary themselves, {found.Count} reach one; {entries.Count} banned symbols";
        return new BannedSymbolsScan(BannedList.Render(entries, version), report.ToString(), summary, entries);
    }

    /// <summary>The TorchSharp version Directory.Packages.props pins.</summary>
    public static string TorchSharpVersion(string repositoryRoot) =>
        XDocument.Load(Path.Combine(repositoryRoot, "Directory.Packages.props")).Descendants("PackageVersion")
            .First(e => (string?)e.Attribute("Include") == "TorchSharp").Attribute("Version")!.Value;
}
