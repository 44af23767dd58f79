namespace Pyroscope.Formats.Jfr;

/// <summary>How a field's value is encoded on the wire.</summary>
internal enum JfrFieldKind : byte
{
    Unresolved,
    Boolean,
    Byte,
    Char,
    Short,
    Int,
    Long,
    Float,
    Double,
    String,
    PoolRef,
    Struct,
}

internal sealed class JfrField(string name, long typeId, bool constantPool, bool isArray)
{
    public string Name { get; } = name;

    public long TypeId { get; } = typeId;

    public bool ConstantPool { get; } = constantPool;

    public bool IsArray { get; } = isArray;

    public JfrFieldKind Kind { get; set; }

    /// <summary>The field's class when <see cref="Kind"/> is <see cref="JfrFieldKind.Struct"/>.</summary>
    public JfrClass? StructType { get; set; }
}

internal sealed class JfrClass(long id, string name)
{
    public long Id { get; } = id;

    public string Name { get; } = name;

    public List<JfrField> FieldList { get; } = [];

    public JfrField[] Fields { get; set; } = [];

    /// <summary>
    /// False for structs whose encoding is empty (no fields, or only such structs). Skipping treats them as
    /// no-ops so that crafted metadata nesting many empty structs cannot make skipping cost more than the bytes read.
    /// </summary>
    public bool ConsumesBytes { get; set; } = true;

    public int IndexOf(string fieldName)
    {
        var fields = Fields;
        for (var i = 0; i < fields.Length; i++)
        {
            if (fields[i].Name == fieldName)
            {
                return i;
            }
        }
        return -1;
    }
}

/// <summary>The type system of one chunk, read from its metadata event.</summary>
internal sealed class JfrMetadata
{
    private const int MaxElementDepth = 32;

    private readonly Dictionary<long, JfrClass> _byId = [];
    private readonly Dictionary<string, JfrClass> _byName = new(StringComparer.Ordinal);

    public JfrClass? ById(long id) => _byId.GetValueOrDefault(id);

    public JfrClass? ByName(string name) => _byName.GetValueOrDefault(name);

    public IEnumerable<JfrClass> Classes => _byId.Values;

    /// <summary>Parses a metadata event; the reader is positioned after its size and type id.</summary>
    public static JfrMetadata Read(ref JfrReader reader)
    {
        reader.ReadVarLong("metadata start time");
        reader.ReadVarLong("metadata duration");
        reader.ReadVarLong("metadata id");
        var count = reader.ReadCount("metadata string count");
        var strings = new string[count];
        for (var i = 0; i < count; i++)
        {
            var s = reader.ReadString("metadata string", out _);
            strings[i] = s ?? string.Empty;
        }
        var metadata = new JfrMetadata();
        metadata.ReadElement(ref reader, strings, null, 0);
        metadata.Resolve();
        return metadata;
    }

    private void ReadElement(ref JfrReader reader, string[] strings, JfrClass? parentClass, int depth)
    {
        var start = reader.Position;
        if (depth > MaxElementDepth)
        {
            JfrReader.Throw(start, $"metadata elements nested deeper than {MaxElementDepth}");
        }
        var name = StringAt(ref reader, strings, "metadata element name");
        var attributeCount = reader.ReadCount("metadata attribute count", 2);
        string? attrName = null, attrId = null, attrClass = null, attrConstantPool = null, attrDimension = null;
        for (var i = 0; i < attributeCount; i++)
        {
            var key = StringAt(ref reader, strings, "metadata attribute name");
            var value = StringAt(ref reader, strings, "metadata attribute value");
            switch (key)
            {
                case "name": attrName = value; break;
                case "id": attrId = value; break;
                case "class": attrClass = value; break;
                case "constantPool": attrConstantPool = value; break;
                case "dimension": attrDimension = value; break;
            }
        }
        JfrClass? classForChildren = null;
        if (name == "class")
        {
            if (attrName is null || !long.TryParse(attrId, out var id))
            {
                throw new JfrFormatException(start, "metadata class element without a name or numeric id");
            }
            var cls = new JfrClass(id, attrName);
            _byId[id] = cls;
            _byName[attrName] = cls;
            classForChildren = cls;
        }
        else if (name == "field" && parentClass is not null)
        {
            if (attrName is null || !long.TryParse(attrClass, out var typeId))
            {
                throw new JfrFormatException(start, $"field of class {parentClass.Name} without a name or numeric class");
            }
            parentClass.FieldList.Add(new JfrField(attrName, typeId, attrConstantPool == "true", attrDimension == "1"));
        }
        var childCount = reader.ReadCount("metadata child count", 3);
        for (var i = 0; i < childCount; i++)
        {
            ReadElement(ref reader, strings, classForChildren, depth + 1);
        }
    }

    private static string StringAt(ref JfrReader reader, string[] strings, string what)
    {
        var start = reader.Position;
        var index = reader.ReadVarLong(what);
        if ((ulong)index >= (ulong)strings.Length)
        {
            JfrReader.Throw(start, $"{what}: string index {index} outside the {strings.Length} metadata strings");
        }
        return strings[index];
    }

    private void Resolve()
    {
        foreach (var cls in _byId.Values)
        {
            cls.Fields = [.. cls.FieldList];
            foreach (var field in cls.Fields)
            {
                var type = ById(field.TypeId);
                if (field.ConstantPool)
                {
                    field.Kind = JfrFieldKind.PoolRef;
                    continue;
                }
                field.Kind = type?.Name switch
                {
                    "boolean" => JfrFieldKind.Boolean,
                    "byte" => JfrFieldKind.Byte,
                    "char" => JfrFieldKind.Char,
                    "short" => JfrFieldKind.Short,
                    "int" => JfrFieldKind.Int,
                    "long" => JfrFieldKind.Long,
                    "float" => JfrFieldKind.Float,
                    "double" => JfrFieldKind.Double,
                    "java.lang.String" => JfrFieldKind.String,
                    null => JfrFieldKind.Unresolved,
                    _ => JfrFieldKind.Struct,
                };
                field.StructType = field.Kind == JfrFieldKind.Struct ? type : null;
            }
        }
        var state = new Dictionary<JfrClass, bool?>();
        foreach (var cls in _byId.Values)
        {
            cls.ConsumesBytes = ConsumesBytes(cls, state);
        }
    }

    private static bool ConsumesBytes(JfrClass cls, Dictionary<JfrClass, bool?> state)
    {
        if (state.TryGetValue(cls, out var known))
        {
            // null = still being visited: a recursive struct; it is depth-limited when read, count it as consuming.
            return known ?? true;
        }
        state[cls] = null;
        var consumes = false;
        foreach (var field in cls.Fields)
        {
            if (field.IsArray || field.Kind != JfrFieldKind.Struct || ConsumesBytes(field.StructType!, state))
            {
                consumes = true;
                break;
            }
        }
        state[cls] = consumes;
        return consumes;
    }
}
