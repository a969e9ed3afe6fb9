package policy

import "fmt"

// Permission is one OCI Object Storage permission, the unit a request is
// authorized against.
type Permission uint8

// The Object Storage permissions, named as OCI names them.
const (
	BucketInspect Permission = iota + 1
	BucketRead
	BucketUpdate
	BucketCreate
	BucketDelete
	ParManage
	ObjectInspect
	ObjectRead
	ObjectOverwrite
	ObjectCreate
	ObjectDelete
	ObjectRestore
	ObjectVersionDelete
	// ObjectBypassGovernance lets a request that sends
	// x-amz-bypass-governance-retention: true remove or shorten a
	// GOVERNANCE retention (S3's s3:BypassGovernanceRetention). Nothing
	// bypasses COMPLIANCE or a legal hold.
	ObjectBypassGovernance
	// NamespaceRead and NamespaceUpdate are on the namespace itself (its
	// metadata: the designated S3 compartment), which is in the root
	// compartment: only statements "in tenancy" grant them.
	NamespaceRead
	NamespaceUpdate
)

var permissionNames = [...]string{
	BucketInspect:          "BUCKET_INSPECT",
	BucketRead:             "BUCKET_READ",
	BucketUpdate:           "BUCKET_UPDATE",
	BucketCreate:           "BUCKET_CREATE",
	BucketDelete:           "BUCKET_DELETE",
	ParManage:              "PAR_MANAGE",
	ObjectInspect:          "OBJECT_INSPECT",
	ObjectRead:             "OBJECT_READ",
	ObjectOverwrite:        "OBJECT_OVERWRITE",
	ObjectCreate:           "OBJECT_CREATE",
	ObjectDelete:           "OBJECT_DELETE",
	ObjectRestore:          "OBJECT_RESTORE",
	ObjectVersionDelete:    "OBJECT_VERSION_DELETE",
	ObjectBypassGovernance: "OBJECT_BYPASS_GOVERNANCE",
	NamespaceRead:          "OBJECTSTORAGE_NAMESPACE_READ",
	NamespaceUpdate:        "OBJECTSTORAGE_NAMESPACE_UPDATE",
}

func (p Permission) String() string {
	if int(p) < len(permissionNames) && permissionNames[p] != "" {
		return permissionNames[p]
	}
	return fmt.Sprintf("Permission(%d)", uint8(p))
}

// Verb is how much a statement allows: each verb includes the weaker ones.
type Verb uint8

// Verbs, weakest first.
const (
	Inspect Verb = iota + 1
	Read
	Use
	Manage
)

var verbNames = [...]string{Inspect: "inspect", Read: "read", Use: "use", Manage: "manage"}

func (v Verb) String() string {
	if int(v) < len(verbNames) && verbNames[v] != "" {
		return verbNames[v]
	}
	return fmt.Sprintf("Verb(%d)", uint8(v))
}

// Resource is a resource-type: one type or a family of them.
type Resource uint8

// Resource types.
const (
	Buckets Resource = iota + 1
	Objects
	ObjectFamily // namespaces, buckets and objects
	AllResources // every resource type
	Namespaces   // objectstorage-namespaces
)

var resourceNames = [...]string{Buckets: "buckets", Objects: "objects", ObjectFamily: "object-family", AllResources: "all-resources",
	Namespaces: "objectstorage-namespaces"}

func (r Resource) String() string {
	if int(r) < len(resourceNames) && resourceNames[r] != "" {
		return resourceNames[r]
	}
	return fmt.Sprintf("Resource(%d)", uint8(r))
}

// bucketGrants and objectGrants are what each verb adds over the weaker
// one, as OCI documents them for buckets and objects.
var (
	bucketGrants = [...][]Permission{
		Inspect: {BucketInspect},
		Read:    {BucketRead},
		Use:     {BucketUpdate},
		Manage:  {BucketCreate, BucketDelete, ParManage},
	}
	objectGrants = [...][]Permission{
		Inspect: {ObjectInspect},
		Read:    {ObjectRead},
		Use:     {ObjectOverwrite},
		Manage:  {ObjectCreate, ObjectDelete, ObjectRestore, ObjectVersionDelete, ObjectBypassGovernance},
	}
	namespaceGrants = [...][]Permission{
		Read:   {NamespaceRead},
		Manage: {NamespaceUpdate},
	}
)

// Permissions returns the permissions verb grants on resource, in a fixed
// order.
func Permissions(verb Verb, resource Resource) []Permission {
	var out []Permission
	add := func(table [5][]Permission) {
		for v := Inspect; v <= verb && v <= Manage; v++ {
			out = append(out, table[v]...)
		}
	}
	if resource == Buckets || resource == ObjectFamily || resource == AllResources {
		add(bucketGrants)
	}
	if resource == Objects || resource == ObjectFamily || resource == AllResources {
		add(objectGrants)
	}
	if resource == Namespaces || resource == ObjectFamily || resource == AllResources {
		add(namespaceGrants)
	}
	return out
}

// grants reports whether verb on resource includes p.
func grants(verb Verb, resource Resource, p Permission) bool {
	for _, q := range Permissions(verb, resource) {
		if q == p {
			return true
		}
	}
	return false
}
