using MultiLora.Data.Errors;
using MultiLora.Data.Model;

namespace MultiLora.Data.Readers;

/// <summary>Format-independent pieces of turning a row into a <see cref="Conversation"/>.</summary>
static class RecordBuilder
{
    public static string Origin(string file, long index) => $"{file}#{index}";

    public static Turn MakeTurn(string? from, string? value, string origin, int turnIndex)
    {
        var speaker = SpeakerNames.TryParse(from)
            ?? throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"turn {turnIndex}: unknown speaker '{from}' (expected human, gpt, user, assistant or system)");
        if (value is null) throw new DataRecordException(DataErrorKind.MalformedRecord, origin, $"turn {turnIndex}: missing 'value'");
        return new Turn(speaker, value);
    }

    /// <summary>A two-turn conversation from a question/answer pair; the question gets the image placeholder when there is an image.</summary>
    public static IReadOnlyList<Turn> QuestionAnswer(string? question, string? answer, bool hasImage, string origin)
    {
        if (string.IsNullOrEmpty(question) || answer is null) return [];
        return [new Turn(Speaker.Human, hasImage ? ImagePlaceholder.AddTo(question) : question), new Turn(Speaker.Gpt, answer)];
    }

    public static byte[] FromBase64(string text, string origin)
    {
        try { return Convert.FromBase64String(text); }
        catch (FormatException e) { throw new DataRecordException(DataErrorKind.UndecodableImage, origin, "image column is not valid base64", e); }
    }
}
