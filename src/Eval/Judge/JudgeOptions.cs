namespace MultiLora.Eval.Judge;

/// <summary>
/// Where and how to reach an OpenAI-compatible chat-completions judge. <see cref="CacheDir"/> holds replies by
/// request hash so a re-run costs nothing.
/// </summary>
public sealed record JudgeOptions(
    string BaseUrl,
    string Model,
    string? ApiKey,
    TimeSpan Timeout,
    int MaxAttempts,
    TimeSpan InitialBackoff,
    string? CacheDir)
{
    public const string BaseUrlVariable = "MULTILORA_JUDGE_BASE_URL";
    public const string ModelVariable = "MULTILORA_JUDGE_MODEL";
    public const string ApiKeyVariable = "MULTILORA_JUDGE_API_KEY";
    public const string OpenAiKeyVariable = "OPENAI_API_KEY";
    public const string DefaultBaseUrl = "https://api.openai.com/v1";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);
    public const int DefaultMaxAttempts = 4;
    public static readonly TimeSpan DefaultBackoff = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The judge named by the environment, or null (offline fallback) when no judge model is set. A key alone
    /// does not switch the judge on, so an unrelated OPENAI_API_KEY never causes paid calls.
    /// </summary>
    public static JudgeOptions? FromEnvironment(string? cacheDir, Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        var model = env(ModelVariable);
        if (string.IsNullOrWhiteSpace(model)) return null;
        var baseUrl = env(BaseUrlVariable);
        var key = env(ApiKeyVariable) ?? env(OpenAiKeyVariable);
        return new JudgeOptions(string.IsNullOrWhiteSpace(baseUrl) ? DefaultBaseUrl : baseUrl, model, key,
            DefaultTimeout, DefaultMaxAttempts, DefaultBackoff, cacheDir);
    }

    public string Describe => $"{Model} at {BaseUrl}";
}
