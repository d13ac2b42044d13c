namespace MultiLora.Data.Specs;

/// <summary>
/// Which columns (or JSON keys) hold a record's parts. A record is built either from <see cref="Conversations"/>
/// (a list of {from, value}, or that list as a JSON string) or, when <see cref="Question"/> is set, from one
/// question/answer pair. The image is a path string, a {bytes, path} struct (Hugging Face datasets export),
/// raw bytes, or (<see cref="ImageBase64"/>) base64 text as in MMBench TSVs.
/// </summary>
public sealed record ColumnMapping
{
    public const string DefaultId = "id";
    public const string DefaultConversations = "conversations";
    public const string DefaultImage = "image";

    public string Id { get; init; } = DefaultId;
    public string Conversations { get; init; } = DefaultConversations;
    public string? Question { get; init; }
    public string? Answer { get; init; }
    public string? Image { get; init; } = DefaultImage;
    public string? ImageBase64 { get; init; }

    public bool IsQuestionAnswer => Question is not null;

    public static ColumnMapping Default { get; } = new();
}
