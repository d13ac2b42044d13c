namespace MultiLora.Data.Readers;

/// <summary>The image placeholder of LLaVA data ("&lt;image&gt;") and where question/answer readers put it.</summary>
public static class ImagePlaceholder
{
    public const string Token = "<image>";

    /// <summary>
    /// Question/answer sources (POPE, MMBench, CSV) carry no placeholder; LLaVA's eval scripts prepend
    /// "&lt;image&gt;\n" to the question, so an image record's question gets the same.
    /// </summary>
    public static string AddTo(string question) => question.Contains(Token, StringComparison.Ordinal) ? question : Token + "\n" + question;
}
