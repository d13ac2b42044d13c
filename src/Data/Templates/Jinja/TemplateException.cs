namespace MultiLora.Data.Templates.Jinja;

/// <summary>
/// A chat template that cannot be parsed or fails while rendering: one line naming the template's origin
/// (file) and the line:column in it.
/// </summary>
public class TemplateException(string origin, SourcePosition at, string message)
    : FormatException($"{origin}:{at.Line}:{at.Column}: {message}")
{
    public string Origin { get; } = origin;
    public SourcePosition Position { get; } = at;
    public string Reason { get; } = message;
}

/// <summary>The template called raise_exception(message): the conversation is not one it accepts.</summary>
public sealed class TemplateRaisedException(string origin, SourcePosition at, string raised)
    : TemplateException(origin, at, $"template raised: {raised}")
{
    public string Raised { get; } = raised;
}

/// <summary>1-based line and column in the template source.</summary>
public readonly record struct SourcePosition(int Line, int Column)
{
    public static SourcePosition Of(string source, int offset)
    {
        int line = 1, column = 1;
        for (var i = 0; i < offset && i < source.Length; i++)
        {
            if (source[i] == '\n') { line++; column = 1; }
            else column++;
        }
        return new SourcePosition(line, column);
    }
}
