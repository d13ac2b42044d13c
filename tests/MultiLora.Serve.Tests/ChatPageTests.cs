using Microsoft.Playwright;
using MultiLora.Serve.Engine;
using MultiLora.Tests.Common;

namespace MultiLora.Serve.Tests;

/// <summary>
/// The chat page in a real browser (Debian's chromium, headless, driven by Playwright): pick an adapter, attach an
/// image, ask, and read the streamed answer off the page; a screenshot is taken mid-answer.
/// </summary>
public sealed class ChatPageTests
{
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>Where the mid-answer screenshot lands: artifacts/serve/ in the repository (ignored by git).</summary>
    public static string ScreenshotPath => Path.Combine(Fixture.Root, "..", "..", "..", "artifacts", "serve", "chat-page-mid-answer.png");

    [SkippableFact]
    public async Task ChatPage_StreamsTheAnswerOfTheChosenAdapterAboutTheAttachedImage()
    {
        // CI installs chromium (.ci/run); a developer machine without it skips, saying how to get it
        Skip.If(!File.Exists(Chromium) && Environment.GetEnvironmentVariable("CI") != "true", $"{Chromium} not found: apt-get install chromium");
        await using var server = await TestServer.StartAsync(new ServeOptions(Scheduler: new SchedulerOptions(StepDelay: TimeSpan.FromMilliseconds(60))),
            adapters: [(TestAdapters.Up, TestAdapters.UpPath)]);
        const string question = "What color is the square?";
        const int maxTokens = 40;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 900, Height = 640 } });
        await page.GotoAsync(server.Host.BaseAddress.ToString());
        await page.WaitForSelectorAsync($"#model option[value='{TestAdapters.Up}']", new() { State = WaitForSelectorState.Attached });
        await page.SelectOptionAsync("#model", TestAdapters.Up);
        await page.SetInputFilesAsync("#image", Fixture.Path("image.png"));
        await page.WaitForSelectorAsync("#preview:not([hidden])");
        await page.FillAsync("#max-tokens", maxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.FillAsync("#question", question);
        await page.ClickAsync("#send");

        // mid-answer: some text is in, the reply is still streaming
        await page.WaitForFunctionAsync("() => { const a = document.querySelector('.turn.assistant'); return a && a.dataset.state === 'streaming' && a.querySelector('.text').textContent.length >= 4; }",
            null, new() { Timeout = 60_000 });
        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        await page.ScreenshotAsync(new() { Path = ScreenshotPath });
        string partial = await page.TextContentAsync(".turn.assistant .text") ?? "";

        await page.WaitForSelectorAsync(".turn.assistant[data-state='done']", new() { Timeout = 60_000 });
        string answer = await page.TextContentAsync(".turn.assistant .text") ?? "";
        var expected = Reference.Generate(TestAdapters.Up, question, image: true, maxTokens);
        Assert.Equal(expected.Text, answer);
        Assert.StartsWith(partial, answer);
        Assert.True(partial.Length < answer.Length, $"the screenshot was not taken mid-answer ('{partial}' of '{answer}')");
        Assert.Contains("tokens in", await page.TextContentAsync("#status") ?? "");
        Assert.True(new FileInfo(ScreenshotPath).Length > 1000);
    }
}
