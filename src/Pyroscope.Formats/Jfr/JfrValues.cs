namespace Pyroscope.Formats.Jfr;

/// <summary>Reading and skipping field values as the chunk metadata describes them.</summary>
internal static class JfrValues
{
    /// <summary>Structs may nest; a self-referencing type in corrupt metadata must not overflow the stack.</summary>
    public const int MaxStructDepth = 16;

    /// <summary>
    /// Reads a scalar field as a long: integers and pool references as numbers, booleans and bytes as 0..255,
    /// floats and doubles as their raw bits. Strings, structs and arrays are skipped and read as 0.
    /// </summary>
    public static long ReadScalar(ref JfrReader reader, JfrField field)
    {
        if (field.IsArray)
        {
            SkipValue(ref reader, field, 0);
            return 0;
        }
        switch (field.Kind)
        {
            case JfrFieldKind.PoolRef:
            case JfrFieldKind.Long:
            case JfrFieldKind.Int:
            case JfrFieldKind.Short:
            case JfrFieldKind.Char:
                return reader.ReadVarLong(field.Name);
            case JfrFieldKind.Boolean:
            case JfrFieldKind.Byte:
                return reader.ReadByte(field.Name);
            case JfrFieldKind.Float:
                return reader.ReadInt32BigEndian(field.Name);
            case JfrFieldKind.Double:
                return reader.ReadInt64BigEndian(field.Name);
            default:
                SkipValue(ref reader, field, 0);
                return 0;
        }
    }

    public static void SkipValue(ref JfrReader reader, JfrField field, int depth)
    {
        var count = 1;
        if (field.IsArray)
        {
            count = reader.ReadCount(field.Name, 1);
        }
        if (field.Kind == JfrFieldKind.Struct && !field.StructType!.ConsumesBytes)
        {
            return;
        }
        for (var i = 0; i < count; i++)
        {
            SkipOne(ref reader, field, depth);
        }
    }

    private static void SkipOne(ref JfrReader reader, JfrField field, int depth)
    {
        switch (field.Kind)
        {
            case JfrFieldKind.PoolRef:
            case JfrFieldKind.Long:
            case JfrFieldKind.Int:
            case JfrFieldKind.Short:
            case JfrFieldKind.Char:
                reader.ReadVarLong(field.Name);
                return;
            case JfrFieldKind.Boolean:
            case JfrFieldKind.Byte:
                reader.Skip(1, field.Name);
                return;
            case JfrFieldKind.Float:
                reader.Skip(4, field.Name);
                return;
            case JfrFieldKind.Double:
                reader.Skip(8, field.Name);
                return;
            case JfrFieldKind.String:
                reader.SkipString(field.Name);
                return;
            case JfrFieldKind.Struct:
                SkipStruct(ref reader, field.StructType!, depth + 1);
                return;
            default:
                JfrReader.Throw(reader.Position, $"field {field.Name} has unknown type id {field.TypeId}");
                return;
        }
    }

    public static void SkipStruct(ref JfrReader reader, JfrClass type, int depth)
    {
        if (depth > MaxStructDepth)
        {
            JfrReader.Throw(reader.Position, $"values of {type.Name} nested deeper than {MaxStructDepth}");
        }
        var fields = type.Fields;
        for (var i = 0; i < fields.Length; i++)
        {
            SkipValue(ref reader, fields[i], depth);
        }
    }
}
