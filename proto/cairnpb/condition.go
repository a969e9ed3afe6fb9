package cairnpb

// ConditionOutcome is what a WriteCondition says of a key's current
// version.
type ConditionOutcome int

const (
	// ConditionHolds: every field set holds; the write may go on.
	ConditionHolds ConditionOutcome = iota
	// ConditionFails: a field does not hold (PRECONDITION_FAILED).
	ConditionFails
	// ConditionNoObject: an If-Match form met a key without a current
	// version (OBJECT_NOT_FOUND, as S3's NoSuchKey).
	ConditionNoObject
)

// Against decides c for the key's current version cur (nil: none, or a
// delete marker). A nil condition holds. This is the one place the rule
// is written: meta decides with it in the apply that commits, and a
// gateway with it to refuse a doomed write before moving its data.
func (c *WriteCondition) Against(cur *ObjectVersion) ConditionOutcome {
	if c == nil {
		return ConditionHolds
	}
	if cur == nil {
		if c.GetIfMatchAny() || c.GetIfMatchEtag() != "" {
			return ConditionNoObject
		}
		return ConditionHolds
	}
	switch {
	case c.GetIfNoneMatch():
		return ConditionFails
	case c.GetIfMatchEtag() != "" && cur.GetEtag() != c.GetIfMatchEtag():
		return ConditionFails
	case c.GetIfNoneMatchEtag() != "" && cur.GetEtag() == c.GetIfNoneMatchEtag():
		return ConditionFails
	}
	return ConditionHolds
}
