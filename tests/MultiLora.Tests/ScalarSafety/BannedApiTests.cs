using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MultiLora.Tests.ScalarSafety;

/// <summary>
/// The build itself refuses a TorchSharp call that passes a temporary Scalar: tests/BannedApiProbe (outside the
/// solution, same Directory.Build.props as every project) holds one banned call of each kind and must fail with
/// RS0030 on exactly those lines.
/// </summary>
public sealed class BannedApiTests
{
    [Fact]
    public void ProbeProjectWithBannedCalls_FailsToBuildWithRS0030OnEachBannedLine()
    {
        string root = Repository.Root;
        string probe = Path.Combine(root, "tests", "BannedApiProbe");
        var source = File.ReadAllLines(Path.Combine(probe, "Probe.cs"));
        var expected = Enumerable.Range(1, source.Length).Where(n => source[n - 1].Contains("// banned:", StringComparison.Ordinal)).ToList();
        var allowed = Enumerable.Range(1, source.Length).Where(n => source[n - 1].Contains("// allowed:", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, expected.Count);

        var (exitCode, output) = Dotnet(root, "build", probe, "-c", "Release", "-nologo", "-clp:NoSummary", "-p:UseSharedCompilation=false");

        Assert.True(exitCode != 0, "the probe with banned calls built without errors:\n" + output);
        var reported = Regex.Matches(output, @"Probe\.cs\((\d+),\d+\): error RS0030")
            .Select(m => int.Parse(m.Groups[1].Value)).Distinct().Order().ToList();
        Assert.Equal(expected, reported);
        Assert.DoesNotContain(reported, allowed.Contains);
        Assert.DoesNotMatch(@"error (?!RS0030)[A-Z]+\d+", output);   // it fails for the bans, not for anything else
    }

    static (int ExitCode, string Output) Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        // the test host's MSBuild settings must not leak into the child build
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
            start.Environment.Remove(name);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}
