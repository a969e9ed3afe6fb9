package rpcauth

import (
	"github.com/cairn-store/cairn/proto/cairnpb"
	"github.com/cairn-store/cairn/proto/pki"
)

// Rule says who may call one method.
type Rule struct {
	// Roles may call the method.
	Roles []pki.Role
	// Token: the admin token is accepted in place of a certificate.
	Token bool
	// Self, when set, returns the node ID a request speaks for; a data
	// caller must carry that same ID (a node registers, heartbeats and
	// reports only as itself). Other roles in Roles are not held to it.
	Self func(req any) string
}

// adminOnly reports whether only operators may make the call.
func (r Rule) adminOnly() bool {
	for _, role := range r.Roles {
		if role != pki.RoleAdmin {
			return false
		}
	}
	return true
}

// admin is the row of every Admin method: an admin certificate or the
// admin token.
func admin() Rule { return Rule{Roles: []pki.Role{pki.RoleAdmin}, Token: true} }

// Table is the one authorization table: every method of the Meta, Admin
// and Data services, and the roles that may call it. The Raft transport
// is not gRPC; its port admits meta certificates only (see RaftRoles).
// docs/security.md explains each row.
func Table() map[string]Rule {
	gateway, data, meta := []pki.Role{pki.RoleGateway}, []pki.Role{pki.RoleData}, []pki.Role{pki.RoleMeta}
	t := map[string]Rule{
		// Meta: the object model, for gateways.
		cairnpb.Meta_CreateBucket_FullMethodName:            {Roles: gateway},
		cairnpb.Meta_DeleteBucket_FullMethodName:            {Roles: gateway},
		cairnpb.Meta_GetBucket_FullMethodName:               {Roles: gateway},
		cairnpb.Meta_ListBuckets_FullMethodName:             {Roles: gateway},
		cairnpb.Meta_CommitObject_FullMethodName:            {Roles: gateway},
		cairnpb.Meta_GetObject_FullMethodName:               {Roles: gateway},
		cairnpb.Meta_DeleteObject_FullMethodName:            {Roles: gateway},
		cairnpb.Meta_ListObjects_FullMethodName:             {Roles: gateway},
		cairnpb.Meta_CreateMultipartUpload_FullMethodName:   {Roles: gateway},
		cairnpb.Meta_GetMultipartUpload_FullMethodName:      {Roles: gateway},
		cairnpb.Meta_CommitPart_FullMethodName:              {Roles: gateway},
		cairnpb.Meta_CompleteMultipartUpload_FullMethodName: {Roles: gateway},
		cairnpb.Meta_AbortMultipartUpload_FullMethodName:    {Roles: gateway},
		cairnpb.Meta_ListParts_FullMethodName:               {Roles: gateway},
		cairnpb.Meta_ListMultipartUploads_FullMethodName:    {Roles: gateway},
		cairnpb.Meta_SetObjectTags_FullMethodName:           {Roles: gateway},
		cairnpb.Meta_SetBucketConfig_FullMethodName:         {Roles: gateway},
		cairnpb.Meta_CommitVersion_FullMethodName:           {Roles: gateway},
		cairnpb.Meta_GetObjectVersion_FullMethodName:        {Roles: gateway},
		cairnpb.Meta_DeleteVersion_FullMethodName:           {Roles: gateway},
		cairnpb.Meta_RenameObject_FullMethodName:            {Roles: gateway},
		cairnpb.Meta_SetVersionTags_FullMethodName:          {Roles: gateway},
		cairnpb.Meta_SetVersionLock_FullMethodName:          {Roles: gateway},
		cairnpb.Meta_ListObjectVersions_FullMethodName:      {Roles: gateway},
		// Secrets: a user's secret key leaves meta only for a gateway,
		// which needs it to check signatures.
		cairnpb.Meta_LookupAccessKey_FullMethodName: {Roles: gateway},
		// A public key is no secret, but what it authorizes is the
		// gateway's business only.
		cairnpb.Meta_LookupAPIKey_FullMethodName: {Roles: gateway},
		// The native API's UpdateNamespaceMetadata, authorized by the
		// gateway like every bucket change.
		cairnpb.Meta_SetS3Compartment_FullMethodName: {Roles: gateway},
		cairnpb.Meta_ActiveMasterKey_FullMethodName:  {Roles: gateway},
		// Pre-authenticated requests: the gateway authorizes who manages
		// them and who uses them; LookupPAR carries a creator's rights.
		cairnpb.Meta_CreatePAR_FullMethodName: {Roles: gateway},
		cairnpb.Meta_GetPAR_FullMethodName:    {Roles: gateway},
		cairnpb.Meta_ListPARs_FullMethodName:  {Roles: gateway},
		cairnpb.Meta_DeletePAR_FullMethodName: {Roles: gateway},
		cairnpb.Meta_LookupPAR_FullMethodName: {Roles: gateway},
		// Work requests: the gateway records them and authorizes who sees
		// them.
		cairnpb.Meta_RecordWorkRequest_FullMethodName: {Roles: gateway},
		cairnpb.Meta_GetWorkRequest_FullMethodName:    {Roles: gateway},
		cairnpb.Meta_ListWorkRequests_FullMethodName:  {Roles: gateway},
		// A gateway that could not read an object says so, for operators.
		cairnpb.Meta_ReportUnreadable_FullMethodName: {Roles: gateway},
		// The leader checks each reported shard before acting on it.
		cairnpb.Meta_ReportShards_FullMethodName: {Roles: gateway},
		// The cluster map: addresses and health, for whoever places or
		// reads shards, and for operators.
		cairnpb.Meta_GetClusterMap_FullMethodName: {Roles: []pki.Role{pki.RoleGateway, pki.RoleData, pki.RoleAdmin}, Token: true},
		// Membership: a data node speaks only for itself.
		cairnpb.Meta_RegisterNode_FullMethodName: {Roles: data, Self: func(r any) string {
			return r.(*cairnpb.RegisterNodeRequest).GetNode().GetId()
		}},
		cairnpb.Meta_Heartbeat_FullMethodName: {Roles: data, Self: func(r any) string {
			return r.(*cairnpb.HeartbeatRequest).GetNodeId()
		}},
		cairnpb.Meta_ReportCorruptShard_FullMethodName: {Roles: data, Self: func(r any) string {
			return r.(*cairnpb.ReportCorruptShardRequest).GetNodeId()
		}},

		// Data: shards are written and read by gateways, and read by other
		// data nodes rebuilding a shard; only meta (GC, repair, orphan
		// reconciliation) deletes, lists or orders rebuilds.
		cairnpb.Data_PutShard_FullMethodName:     {Roles: gateway},
		cairnpb.Data_GetShard_FullMethodName:     {Roles: []pki.Role{pki.RoleGateway, pki.RoleData}},
		cairnpb.Data_StatShard_FullMethodName:    {Roles: []pki.Role{pki.RoleData, pki.RoleMeta}},
		cairnpb.Data_StatShards_FullMethodName:   {Roles: []pki.Role{pki.RoleMeta}},
		cairnpb.Data_DeleteShard_FullMethodName:  {Roles: meta},
		cairnpb.Data_ListShards_FullMethodName:   {Roles: meta},
		cairnpb.Data_RebuildShard_FullMethodName: {Roles: meta},
		cairnpb.Data_Health_FullMethodName:       {Roles: pki.Roles()},
	}
	// Admin: every method, for operators.
	for _, m := range cairnpb.Admin_ServiceDesc.Methods {
		t["/"+cairnpb.Admin_ServiceDesc.ServiceName+"/"+m.MethodName] = admin()
	}
	for _, s := range cairnpb.Admin_ServiceDesc.Streams {
		t["/"+cairnpb.Admin_ServiceDesc.ServiceName+"/"+s.StreamName] = admin()
	}
	return t
}

// RaftRoles are the roles the Raft transport admits: meta nodes only.
func RaftRoles() []pki.Role { return []pki.Role{pki.RoleMeta} }
