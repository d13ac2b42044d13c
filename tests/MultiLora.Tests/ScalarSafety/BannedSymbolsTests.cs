using System.Text.RegularExpressions;
using MultiLora.Tools.ScalarScan;

namespace MultiLora.Tests.ScalarSafety;

/// <summary>BannedSymbols.txt is exactly what tools/ScalarScan derives from the TorchSharp the build uses, and every entry names a real symbol.</summary>
public sealed class BannedSymbolsTests
{
    static readonly Lazy<BannedSymbolsScan> Scan = new(() =>
        BannedSymbolsScan.Run(typeof(TorchSharp.torch).Assembly.Location, BannedSymbolsScan.TorchSharpVersion(Repository.Root)));

    [Fact]
    public void CommittedBannedSymbols_EqualTheScanOfTheTorchSharpInUse()
    {
        string committed = File.ReadAllText(Path.Combine(Repository.Root, "BannedSymbols.txt"));
        Assert.True(committed == Scan.Value.BannedSymbols,
            "BannedSymbols.txt differs from the scan of this TorchSharp: run `dotnet run --project tools/ScalarScan -c Release` and commit the result");
    }

    [Fact]
    public void Scan_BansTheKnownTemporariesAndLeavesTheExplicitOverloadsAlone()
    {
        var ids = Scan.Value.Entries.Select(e => e.Id).ToHashSet();
        // the crash of issue 17: add(Scalar) is add(s, 1)
        Assert.Contains("M:TorchSharp.torch.Tensor.add(TorchSharp.Scalar)~TorchSharp.torch.Tensor", ids);
        Assert.Contains("M:TorchSharp.Scalar.op_Implicit(System.Double)~TorchSharp.Scalar", ids);
        Assert.Contains("M:TorchSharp.torch.Tensor.op_Addition(TorchSharp.torch.Tensor,TorchSharp.torch.Tensor)~TorchSharp.torch.Tensor", ids);
        Assert.Contains("T:TorchSharp.Modules.AdamW", ids);
        // what the project calls instead must stay allowed
        Assert.DoesNotContain("M:TorchSharp.torch.Tensor.add(TorchSharp.Scalar,TorchSharp.Scalar)~TorchSharp.torch.Tensor", ids);
        Assert.DoesNotContain("M:TorchSharp.torch.Tensor.add(TorchSharp.torch.Tensor,TorchSharp.Scalar)~TorchSharp.torch.Tensor", ids);
        Assert.DoesNotContain("M:TorchSharp.torch.Tensor.mul(TorchSharp.Scalar)~TorchSharp.torch.Tensor", ids);
        Assert.DoesNotContain("M:TorchSharp.torch.Tensor.op_Subtraction(TorchSharp.torch.Tensor,TorchSharp.torch.Tensor)~TorchSharp.torch.Tensor", ids);
        Assert.All(Scan.Value.Entries, e => Assert.False(string.IsNullOrWhiteSpace(e.Message), e.Id));
    }

    /// <summary>
    /// The analyzer cannot see whether a Scalar our code makes outlives the call it is passed to, so the one
    /// sanctioned way is checked here: ToScalar() only as the initialiser of a `using` variable (or inside the
    /// process-lifetime cache).
    /// </summary>
    [Fact]
    public void OwnScalars_AreOnlyMadeIntoUsingVariables()
    {
        var using_ = new Regex(@"^\s*using var \w+ = [^;]*\.ToScalar\(\);");
        var offenders = new List<string>();
        foreach (var folder in new[] { "src", "tests", "benchmarks" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(Repository.Root, folder), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
                string relative = Path.GetRelativePath(Repository.Root, file).Replace('\\', '/');
                if (relative is "src/Core/Tensors/Scalars.cs" or "tests/MultiLora.Tests/ScalarSafety/BannedSymbolsTests.cs") continue;
                var lines = File.ReadAllLines(file);
                for (int i = 0; i < lines.Length; i++)
                    if (lines[i].Contains(".ToScalar()", StringComparison.Ordinal) && !using_.IsMatch(lines[i]))
                        offenders.Add($"{relative}:{i + 1}: {lines[i].Trim()}");
            }
        Assert.True(offenders.Count == 0, "ToScalar() outside a `using var` (issue 17):\n" + string.Join("\n", offenders));
    }
}
