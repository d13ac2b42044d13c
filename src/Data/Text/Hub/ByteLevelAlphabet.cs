namespace MultiLora.Data.Text.Hub;

/// <summary>
/// GPT-2's bytes_to_unicode: each byte is shown as one printable char ('Ġ' for a space, 'Ċ' for a newline), so
/// byte-level vocabularies are plain strings. Printable Latin-1 bytes stand for themselves.
/// </summary>
public static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = Build();
    static readonly Dictionary<char, byte> CharToByteMap = ByteToChar.Select((c, b) => (c, (byte)b)).ToDictionary(x => x.c, x => x.Item2);

    static char[] Build()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
            map[b] = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF ? (char)b : (char)next++;
        return map;
    }

    public static bool TryByte(char c, out byte value) => CharToByteMap.TryGetValue(c, out value);
}
