-- SPDX-License-Identifier: GPL-2.0
--
-- hugedma's Slurm job_submit plugin (slurm.conf: JobSubmitPlugins=lua; this
-- file as job_submit.lua beside slurm.conf).  slurmctld runs it for every
-- job submitted.  A job that asks for a buffer in its comment
--
--   sbatch --comment=hugedma=SIZE[,page=1G|2M][,node=N][,device=BDF][,direction=D]
--
-- is checked here, before it is queued: a malformed request is refused with a
-- message that names what was wrong (sbatch prints it).  A well-formed one
-- gets the GRES that counts it, hugedma:1g:BYTES or hugedma:2m:BYTES, added
-- to the job's --gres, so that the scheduler starts it only on a node whose
-- pool (as gres.conf declares it: hugedmactl slurm gres) can hold it, and
-- refuses at submission a job that no node's pool can hold.  A site that does
-- not declare the GRES sets COUNT_AS_GRES to false: the prolog still checks
-- the node's pool before it makes the buffer.

local COUNT_AS_GRES = true

local PAGE = { ["1G"] = { 1073741824, "1g" }, ["2M"] = { 2097152, "2m" } }
local UNIT = { [""] = 1, K = 1024, M = 1048576, G = 1073741824, T = 1099511627776 }
local DIRECTION = { bidirectional = true, to_device = true, from_device = true }

-- the hugedma= word of a comment, or nil; an error when there are two
local function request(comment)
	local req
	if comment == nil then
		return nil
	end
	for w in string.gmatch(comment, "%S+") do
		if string.sub(w, 1, 8) == "hugedma=" then
			if req ~= nil then
				return nil, "the comment asks for two buffers; a job has one"
			end
			req = string.sub(w, 9)
		end
	end
	return req
end

-- SIZE[,KEY=VALUE...] -> bytes, page size ("1G"/"2M"), or nil and why
local function parse(req)
	local size, rest = string.match(req, "^([^,]*)(.*)$")
	local digits, unit = string.match(size, "^(%d+)([KMGTkmgt]?)$")
	if digits == nil or #digits > 13 then
		return nil, nil, "size '" .. size .. "' is not a size (digits with K, M, G or T)"
	end
	local bytes = tonumber(digits) * UNIT[string.upper(unit)]
	if bytes == 0 then
		return nil, nil, "size '" .. size .. "' is zero"
	end
	local page = "1G"
	for kv in string.gmatch(rest, ",([^,]*)") do
		local k, v = string.match(kv, "^(%a+)=(.*)$")
		if k == "page" then
			page = string.upper(v)
			if PAGE[page] == nil then
				return nil, nil, "page size '" .. v .. "' is not 1G or 2M"
			end
		elseif k == "node" then
			if string.match(v, "^%d+$") == nil then
				return nil, nil, "NUMA node '" .. v .. "' is not a node number"
			end
		elseif k == "device" then
			if string.match(v, "^%x%x%x%x:%x%x:%x%x%.[0-7]$") == nil then
				return nil, nil, "device '" .. v .. "' is not a PCI address (as 0000:03:00.0)"
			end
		elseif k == "direction" then
			if not DIRECTION[v] then
				return nil, nil, "direction '" .. v ..
					"' is not bidirectional, to_device or from_device"
			end
		else
			return nil, nil, "'" .. kv .. "' in '" .. req ..
				"' is not page=, node=, device= or direction="
		end
	end
	if bytes % PAGE[page][1] ~= 0 then
		return nil, nil, "size " .. size .. " is not a whole number of " .. page .. " pages"
	end
	return bytes, page
end

local function refuse(msg)
	slurm.log_user("hugedma: %s", msg)
	return slurm.ERROR
end

function slurm_job_submit(job_desc, part_list, submit_uid)
	local req, err = request(job_desc.comment)
	if err ~= nil then
		return refuse(err)
	end
	if req == nil then
		return slurm.SUCCESS
	end
	local bytes, page, why = parse(req)
	if bytes == nil then
		return refuse(why .. " (request '" .. req .. "')")
	end
	if not COUNT_AS_GRES then
		return slurm.SUCCESS
	end
	local tres = job_desc.tres_per_node
	if tres ~= nil and string.find(tres, "gres:hugedma:", 1, true) ~= nil then
		return refuse("give the buffer in --comment=hugedma=..., not in --gres as well")
	end
	local gres = string.format("gres:hugedma:%s:%.0f", PAGE[page][2], bytes)
	if tres == nil or tres == "" then
		job_desc.tres_per_node = gres
	else
		job_desc.tres_per_node = tres .. "," .. gres
	end
	slurm.log_user("hugedma: the job's %s buffer of %s pages needs GRES hugedma:%s:%.0f on its node",
		       string.match(req, "^[^,]*"), page, PAGE[page][2], bytes)
	return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
	if job_desc.comment ~= nil and (request(job_desc.comment) ~= nil or
	    request(job_rec.comment) ~= nil) then
		return refuse("a job's buffer is set at submission; cancel and resubmit to change it")
	end
	return slurm.SUCCESS
end

return slurm.SUCCESS
