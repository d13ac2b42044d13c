using MultiLora.Data.Model;

namespace MultiLora.Data.Readers;

/// <summary>Maps the "from" names of LLaVA and ShareGPT data to <see cref="Speaker"/> and back.</summary>
public static class SpeakerNames
{
    /// <summary>human/user -> Human, gpt/assistant -> Gpt, system -> System (case-insensitive); null when unknown.</summary>
    public static Speaker? TryParse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "human" or "user" => Speaker.Human,
        "gpt" or "assistant" => Speaker.Gpt,
        "system" => Speaker.System,
        _ => null,
    };

    /// <summary>The LLaVA spelling written by the converters.</summary>
    public static string ToLlava(Speaker speaker) => speaker switch
    {
        Speaker.Human => "human",
        Speaker.Gpt => "gpt",
        _ => "system",
    };
}
