using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MultiLora.Tests.Common;

namespace MultiLora.Serve.Tests;

/// <summary>`multilora serve` as its own process: on SIGTERM or SIGINT it stops accepting, finishes the running request, and exits 0.</summary>
public sealed partial class ShutdownTests
{
    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    const int SigInt = 2, SigTerm = 15;

    static string CliDll()
    {
        // the Cli project's own output, same configuration as this test assembly
        var here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var framework = Path.GetFileName(here);
        var configuration = Path.GetFileName(Path.GetDirectoryName(here)!);
        var dll = Path.Combine(Fixture.Root, "..", "..", "..", "src", "Cli", "bin", configuration, framework, "multilora.dll");
        Assert.True(File.Exists(dll), $"{dll} not built");
        return Path.GetFullPath(dll);
    }

    [Theory]
    [InlineData(SigTerm)]
    [InlineData(SigInt)]
    public async Task Signal_StopsAccepting_FinishesTheRunningRequest_AndExitsZero(int signal)
    {
        // env resets SIGINT to its default first: a test host started in the background by a non-interactive shell
        // inherits SIGINT ignored, and .NET leaves an inherited SIG_IGN alone (as any Unix program does), so the
        // server would never see the signal (env execs, so the pid stays the server's)
        var start = new ProcessStartInfo("env", ["--default-signal=INT", "dotnet", CliDll(), "serve", "--model", Fixture.Path("model"), "--served-model-name", "m",
            "--port", "0", "--step-delay-ms", "40", "--shutdown-timeout", "30"])
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var address = new TaskCompletionSource<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output.Enqueue(e.Data);
            if (Address().Match(e.Data) is { Success: true } m) address.TrySetResult(m.Value);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            string url = await address.Task.WaitAsync(TimeSpan.FromSeconds(90));
            using var http = new HttpClient { BaseAddress = new Uri(url + "/"), Timeout = TimeSpan.FromSeconds(90) };
            var body = new JsonObject
            {
                ["model"] = "m", ["max_tokens"] = 40, ["temperature"] = 0, ["ignore_eos"] = true, ["stream"] = true,
                ["stream_options"] = new JsonObject { ["include_usage"] = true },
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "count to forty" }),
            };
            using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body.ToJsonString()) },
                HttpCompletionOption.ResponseHeadersRead);
            var stream = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await stream.ReadLineAsync());   // running (40 steps of 40 ms at least)

            Assert.Equal(0, kill(process.Id, signal));
            // new requests are refused (503 while the listener closes, then no connection at all)
            await BackPressureTests.WaitUntil(() => Refused(url), TimeSpan.FromSeconds(60));

            string rest = await stream.ReadToEndAsync();
            Assert.EndsWith("data: [DONE]", rest.Trim());
            Assert.Contains("\"finish_reason\":\"length\"", rest);
            Assert.Contains("\"completion_tokens\":40", rest);
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "the server did not exit");
            // the timed overload can return before the redirected output's last lines reach the handlers (as .NET's
            // docs warn); the untimed one waits for both streams' end, so "stopped" is in `output` if it was printed
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {string.Join("\n", output)}");
            Assert.Contains(output, l => l.Contains("stopped", StringComparison.Ordinal));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    static bool Refused(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            var body = """{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}""";
            var status = (int)http.PostAsync(url + "/v1/chat/completions", new StringContent(body)).GetAwaiter().GetResult().StatusCode;
            return status == 503;
        }
        catch (HttpRequestException) { return true; }   // the listener is closed
        catch (TaskCanceledException) { return false; }  // no answer within 5 s (a loaded machine): ask again
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+(?=/v1)")]
    private static partial Regex Address();
}
