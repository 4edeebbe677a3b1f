BEGIN TRANSACTION;
CREATE TABLE adapters (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	version INTEGER NOT NULL, 
	base_model VARCHAR(500) NOT NULL, 
	quantization VARCHAR(10) NOT NULL, 
	data_hash VARCHAR(64) NOT NULL, 
	hyperparameters JSON NOT NULL, 
	selection JSON NOT NULL, 
	metrics JSON NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	path VARCHAR(1000) NOT NULL, 
	job_id INTEGER, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_adapter_version UNIQUE (name, version)
);
INSERT INTO "adapters" VALUES(1,'ledgerly',1,'smollm2-135m-instruct','nf4','0000000000000000000000000000000000000000000000000000000000000000','{"r": 8}','{}','{}','ready','/tmp/adapters/ledgerly/v1',NULL,'2026-11-30T21:07:33.211540Z');
CREATE TABLE audit (
	id INTEGER NOT NULL, 
	draft_id INTEGER, 
	actor VARCHAR(100), 
	action VARCHAR(40) NOT NULL, 
	details JSON NOT NULL, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "audit" VALUES(1,NULL,'root','user_add','{"username": "root", "role": "admin"}','2026-11-30T21:07:33.190503Z');
INSERT INTO "audit" VALUES(2,NULL,'root','user_add','{"username": "rita", "role": "reviewer"}','2026-11-30T21:07:33.199778Z');
INSERT INTO "audit" VALUES(3,NULL,'root','user_add','{"username": "marketer1", "role": "marketer"}','2026-11-30T21:07:33.211215Z');
INSERT INTO "audit" VALUES(4,1,'rita','approve','{"row_version": 2, "note": "fine", "edit_distance": 0.0}','2026-11-30T21:07:33.234643Z');
INSERT INTO "audit" VALUES(5,2,'rita','edit','{"row_version": 2, "text_version": 2, "edit_distance": 0.8362068965517241}','2026-11-30T21:07:33.239726Z');
INSERT INTO "audit" VALUES(6,3,'rita','reject','{"row_version": 2, "reason_code": "tone", "reason_text": "too stiff"}','2026-11-30T21:07:33.241254Z');
INSERT INTO "audit" VALUES(7,4,'rita','approve','{"row_version": 2, "note": null, "edit_distance": 0.0}','2026-11-30T21:07:33.242706Z');
INSERT INTO "audit" VALUES(8,1,'marketer1','export','{"batch_id": 1, "profile": "generic"}','2026-11-30T21:07:33.244933Z');
INSERT INTO "audit" VALUES(9,4,'marketer1','export','{"batch_id": 1, "profile": "generic"}','2026-11-30T21:07:33.244933Z');
INSERT INTO "audit" VALUES(10,NULL,'marketer1','export_batch','{"batch_id": 1, "profile": "generic", "rows": 2, "file_hash": "b5b358fbc2449d6f25c2d4d1b62f4432dd99933f5b5e8532202d6fe002e26ffb", "skipped": 0}','2026-11-30T21:07:33.247956Z');
CREATE TABLE contacts (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	contact_key VARCHAR(320) NOT NULL, 
	email VARCHAR(320) NOT NULL, 
	first_name VARCHAR(200), 
	last_name VARCHAR(200), 
	company VARCHAR(300), 
	data JSON NOT NULL, 
	source_file VARCHAR(1000), 
	row_number INTEGER, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_contact_per_job UNIQUE (job_id, contact_key), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
INSERT INTO "contacts" VALUES(1,1,'1000','contact0@example.com','Dana','Reyes','Acme Corp','{"key": "1000", "email": "contact0@example.com", "first_name": "Dana", "last_name": "Reyes", "company": "Acme Corp", "job_title": "Controller", "lifecycle_stage": "lead", "notes": "", "custom": {}, "activities": [{"type": "content_download", "timestamp": "2026-11-02T10:00:00Z", "detail": "downloaded the close checklist"}], "source": {"file": "crm.csv", "row": 2, "profile": "hubspot"}}','crm.csv',2,'2026-11-30T21:07:33.211540Z');
INSERT INTO "contacts" VALUES(2,1,'1001','contact1@example.com','Lee','Reyes','Globex','{"key": "1001", "email": "contact1@example.com", "first_name": "Lee", "last_name": "Reyes", "company": "Globex", "job_title": "Controller", "lifecycle_stage": "lead", "notes": "", "custom": {}, "activities": [{"type": "content_download", "timestamp": "2026-11-02T10:00:00Z", "detail": "downloaded the close checklist"}], "source": {"file": "crm.csv", "row": 3, "profile": "hubspot"}}','crm.csv',3,'2026-11-30T21:07:33.211540Z');
INSERT INTO "contacts" VALUES(3,1,'1002','contact2@example.com','Ana','Reyes','Initech','{"key": "1002", "email": "contact2@example.com", "first_name": "Ana", "last_name": "Reyes", "company": "Initech", "job_title": "Controller", "lifecycle_stage": "lead", "notes": "", "custom": {}, "activities": [{"type": "content_download", "timestamp": "2026-11-02T10:00:00Z", "detail": "downloaded the close checklist"}], "source": {"file": "crm.csv", "row": 4, "profile": "hubspot"}}','crm.csv',4,'2026-11-30T21:07:33.211540Z');
INSERT INTO "contacts" VALUES(4,1,'1003','contact3@example.com','Chloé','Reyes','Umbrella','{"key": "1003", "email": "contact3@example.com", "first_name": "Chlo\u00e9", "last_name": "Reyes", "company": "Umbrella", "job_title": "Controller", "lifecycle_stage": "lead", "notes": "", "custom": {}, "activities": [{"type": "content_download", "timestamp": "2026-11-02T10:00:00Z", "detail": "downloaded the close checklist"}], "source": {"file": "crm.csv", "row": 5, "profile": "hubspot"}}','crm.csv',5,'2026-11-30T21:07:33.211540Z');
INSERT INTO "contacts" VALUES(5,1,'1004','contact4@example.com','Jürgen','Reyes','Hooli','{"key": "1004", "email": "contact4@example.com", "first_name": "J\u00fcrgen", "last_name": "Reyes", "company": "Hooli", "job_title": "Controller", "lifecycle_stage": "lead", "notes": "", "custom": {}, "activities": [{"type": "content_download", "timestamp": "2026-11-02T10:00:00Z", "detail": "downloaded the close checklist"}], "source": {"file": "crm.csv", "row": 6, "profile": "hubspot"}}','crm.csv',6,'2026-11-30T21:07:33.211540Z');
INSERT INTO "contacts" VALUES(6,1,'1005','contact5@example.com','Mei','Reyes','Vandelay Industries','{"key": "1005", "email": "contact5@example.com", "first_name": "Mei", "last_name": "Reyes", "company": "Vandelay Industries", "job_title": "Controller", "lifecycle_stage": "lead", "notes": "", "custom": {}, "activities": [{"type": "content_download", "timestamp": "2026-11-02T10:00:00Z", "detail": "downloaded the close checklist"}], "source": {"file": "crm.csv", "row": 7, "profile": "hubspot"}}','crm.csv',7,'2026-11-30T21:07:33.211540Z');
CREATE TABLE draft_versions (
	id INTEGER NOT NULL, 
	draft_id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	subject TEXT NOT NULL, 
	body TEXT NOT NULL, 
	author VARCHAR(100), 
	kind VARCHAR(20) NOT NULL, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_draft_version UNIQUE (draft_id, version), 
	FOREIGN KEY(draft_id) REFERENCES drafts (id)
);
INSERT INTO "draft_versions" VALUES(1,1,1,'Dana, your month-end close in 3 steps','Hi Dana,

Thanks for downloading the close checklist for Acme Corp. Teams like yours cut month-end close by 2 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','marketer1','generated','2026-11-30T21:07:33.211540Z');
INSERT INTO "draft_versions" VALUES(2,2,1,'Lee, your month-end close in 4 steps','Hi Lee,

Thanks for downloading the close checklist for Globex. Teams like yours cut month-end close by 3 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','marketer1','generated','2026-11-30T21:07:33.211540Z');
INSERT INTO "draft_versions" VALUES(3,3,1,'Ana, your month-end close in 5 steps','Hi Ana,

Thanks for downloading the close checklist for Initech. Teams like yours cut month-end close by 4 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','marketer1','generated','2026-11-30T21:07:33.211540Z');
INSERT INTO "draft_versions" VALUES(4,4,1,'Chloé, your month-end close in 6 steps','Hi Chloé,

Thanks for downloading the close checklist for Umbrella. Teams like yours cut month-end close by 5 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','marketer1','generated','2026-11-30T21:07:33.211540Z');
INSERT INTO "draft_versions" VALUES(5,5,1,'Jürgen, your month-end close in 3 steps','Hi Jürgen,

Thanks for downloading the close checklist for Hooli. Teams like yours cut month-end close by 6 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','marketer1','generated','2026-11-30T21:07:33.211540Z');
INSERT INTO "draft_versions" VALUES(6,6,1,'Mei, your month-end close in 4 steps','Hi Mei,

Thanks for downloading the close checklist for Vandelay Industries. Teams like yours cut month-end close by 2 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','marketer1','generated','2026-11-30T21:07:33.211540Z');
INSERT INTO "draft_versions" VALUES(7,2,2,'Edited subject','Hi Lee,

Edited body.

— The Ledgerly team','rita','edit','2026-11-30T21:07:33.236524Z');
CREATE TABLE drafts (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	contact_id INTEGER NOT NULL, 
	variant INTEGER NOT NULL, 
	attempt INTEGER NOT NULL, 
	brand VARCHAR(200), 
	subject TEXT NOT NULL, 
	body TEXT NOT NULL, 
	generated_subject TEXT NOT NULL, 
	generated_body TEXT NOT NULL, 
	raw_output TEXT, 
	prompt TEXT, 
	template_name VARCHAR(200) NOT NULL, 
	template_hash VARCHAR(64) NOT NULL, 
	adapter_id INTEGER, 
	adapter_label VARCHAR(300) NOT NULL, 
	settings JSON NOT NULL, 
	seed INTEGER, 
	state VARCHAR(20) NOT NULL, 
	verdict VARCHAR(10), 
	tone_score FLOAT, 
	flags JSON NOT NULL, 
	row_version INTEGER NOT NULL, 
	parent_id INTEGER, 
	created_by VARCHAR(100), 
	created_at VARCHAR(32) NOT NULL, 
	updated_at VARCHAR(32) NOT NULL, 
	updated_by VARCHAR(100), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_draft_slot UNIQUE (job_id, contact_id, variant, attempt), 
	FOREIGN KEY(job_id) REFERENCES jobs (id), 
	FOREIGN KEY(contact_id) REFERENCES contacts (id), 
	FOREIGN KEY(adapter_id) REFERENCES adapters (id), 
	FOREIGN KEY(parent_id) REFERENCES drafts (id)
);
INSERT INTO "drafts" VALUES(1,1,1,0,0,'ledgerly','Dana, your month-end close in 3 steps','Hi Dana,

Thanks for downloading the close checklist for Acme Corp. Teams like yours cut month-end close by 2 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Dana, your month-end close in 3 steps','Hi Dana,

Thanks for downloading the close checklist for Acme Corp. Teams like yours cut month-end close by 2 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Subject: Dana, your month-end close in 3 steps

Hi Dana,

Thanks for downloading the close checklist for Acme Corp. Teams like yours cut month-end close by 2 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','(test brief)','follow_up','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1,'ledgerly v1','{"temperature": 0.7}',1234,'exported','pass',0.8,'[]',3,NULL,'marketer1','2026-11-30T21:07:33.211540Z','2026-11-30T21:07:33.244933Z','marketer1');
INSERT INTO "drafts" VALUES(2,1,2,0,0,'ledgerly','Edited subject','Hi Lee,

Edited body.

— The Ledgerly team','Lee, your month-end close in 4 steps','Hi Lee,

Thanks for downloading the close checklist for Globex. Teams like yours cut month-end close by 3 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Subject: Lee, your month-end close in 4 steps

Hi Lee,

Thanks for downloading the close checklist for Globex. Teams like yours cut month-end close by 3 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','(test brief)','follow_up','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1,'ledgerly v1','{"temperature": 0.7}',1235,'pending','warn',0.8,'[]',2,NULL,'marketer1','2026-11-30T21:07:33.211540Z','2026-11-30T21:07:33.237147Z','rita');
INSERT INTO "drafts" VALUES(3,1,3,0,0,'ledgerly','Ana, your month-end close in 5 steps','Hi Ana,

Thanks for downloading the close checklist for Initech. Teams like yours cut month-end close by 4 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Ana, your month-end close in 5 steps','Hi Ana,

Thanks for downloading the close checklist for Initech. Teams like yours cut month-end close by 4 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Subject: Ana, your month-end close in 5 steps

Hi Ana,

Thanks for downloading the close checklist for Initech. Teams like yours cut month-end close by 4 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','(test brief)','follow_up','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1,'ledgerly v1','{"temperature": 0.7}',1236,'rejected','fail',0.8,'[]',2,NULL,'marketer1','2026-11-30T21:07:33.211540Z','2026-11-30T21:07:33.240729Z','rita');
INSERT INTO "drafts" VALUES(4,1,4,0,0,'ledgerly','Chloé, your month-end close in 6 steps','Hi Chloé,

Thanks for downloading the close checklist for Umbrella. Teams like yours cut month-end close by 5 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Chloé, your month-end close in 6 steps','Hi Chloé,

Thanks for downloading the close checklist for Umbrella. Teams like yours cut month-end close by 5 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Subject: Chloé, your month-end close in 6 steps

Hi Chloé,

Thanks for downloading the close checklist for Umbrella. Teams like yours cut month-end close by 5 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','(test brief)','follow_up','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1,'ledgerly v1','{"temperature": 0.7}',1237,'exported','pass',0.8,'[]',3,NULL,'marketer1','2026-11-30T21:07:33.211540Z','2026-11-30T21:07:33.244933Z','marketer1');
INSERT INTO "drafts" VALUES(5,1,5,0,0,'ledgerly','Jürgen, your month-end close in 3 steps','Hi Jürgen,

Thanks for downloading the close checklist for Hooli. Teams like yours cut month-end close by 6 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Jürgen, your month-end close in 3 steps','Hi Jürgen,

Thanks for downloading the close checklist for Hooli. Teams like yours cut month-end close by 6 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Subject: Jürgen, your month-end close in 3 steps

Hi Jürgen,

Thanks for downloading the close checklist for Hooli. Teams like yours cut month-end close by 6 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','(test brief)','follow_up','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1,'ledgerly v1','{"temperature": 0.7}',1238,'pending','warn',0.8,'[]',1,NULL,'marketer1','2026-11-30T21:07:33.211540Z','2026-11-30T21:07:33.211540Z','marketer1');
INSERT INTO "drafts" VALUES(6,1,6,0,0,'ledgerly','Mei, your month-end close in 4 steps','Hi Mei,

Thanks for downloading the close checklist for Vandelay Industries. Teams like yours cut month-end close by 2 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Mei, your month-end close in 4 steps','Hi Mei,

Thanks for downloading the close checklist for Vandelay Industries. Teams like yours cut month-end close by 2 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','Subject: Mei, your month-end close in 4 steps

Hi Mei,

Thanks for downloading the close checklist for Vandelay Industries. Teams like yours cut month-end close by 2 days with Ledgerly.

Want a 20-minute walkthrough next week?

— The Ledgerly team
Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe','(test brief)','follow_up','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1,'ledgerly v1','{"temperature": 0.7}',1239,'pending','fail',0.8,'[]',1,NULL,'marketer1','2026-11-30T21:07:33.211540Z','2026-11-30T21:07:33.211540Z','marketer1');
CREATE TABLE export_batches (
	id INTEGER NOT NULL, 
	profile VARCHAR(40) NOT NULL, 
	created_by VARCHAR(100) NOT NULL, 
	options JSON NOT NULL, 
	n_rows INTEGER NOT NULL, 
	file_hash VARCHAR(64) NOT NULL, 
	path VARCHAR(1000), 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "export_batches" VALUES(1,'generic','marketer1','{"bom": false, "html_body": false, "neutralize": true, "max_body_fields": 20, "on_duplicate": "refuse", "job_id": null, "snippet": null}',2,'b5b358fbc2449d6f25c2d4d1b62f4432dd99933f5b5e8532202d6fe002e26ffb','/tmp/v4/out.csv','2026-11-30T21:07:33.244933Z');
CREATE TABLE export_items (
	batch_id INTEGER NOT NULL, 
	draft_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	PRIMARY KEY (batch_id, draft_id), 
	FOREIGN KEY(batch_id) REFERENCES export_batches (id), 
	FOREIGN KEY(draft_id) REFERENCES drafts (id)
);
INSERT INTO "export_items" VALUES(1,1,0);
INSERT INTO "export_items" VALUES(1,4,1);
CREATE TABLE guardrail_results (
	id INTEGER NOT NULL, 
	draft_id INTEGER NOT NULL, 
	row_version INTEGER NOT NULL, 
	"check" VARCHAR(40) NOT NULL, 
	rule VARCHAR(80) NOT NULL, 
	status VARCHAR(10) NOT NULL, 
	score FLOAT, 
	message TEXT NOT NULL, 
	details JSON NOT NULL, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(draft_id) REFERENCES drafts (id)
);
INSERT INTO "guardrail_results" VALUES(1,1,1,'tone','similarity','pass',0.8,'tone: pass','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(2,1,1,'policy','footer','pass',0.8,'policy: pass','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(3,2,1,'tone','similarity','warn',0.8,'tone: warn','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(4,2,1,'policy','footer','warn',0.8,'policy: warn','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(5,3,1,'tone','similarity','fail',0.8,'tone: fail','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(6,3,1,'policy','footer','fail',0.8,'policy: fail','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(7,4,1,'tone','similarity','pass',0.8,'tone: pass','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(8,4,1,'policy','footer','pass',0.8,'policy: pass','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(9,5,1,'tone','similarity','warn',0.8,'tone: warn','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(10,5,1,'policy','footer','warn',0.8,'policy: warn','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(11,6,1,'tone','similarity','fail',0.8,'tone: fail','{}','2026-11-30T21:07:33.211540Z');
INSERT INTO "guardrail_results" VALUES(12,6,1,'policy','footer','fail',0.8,'policy: fail','{}','2026-11-30T21:07:33.211540Z');
CREATE TABLE jobs (
	id INTEGER NOT NULL, 
	kind VARCHAR(30) NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	params JSON NOT NULL, 
	progress FLOAT NOT NULL, 
	done INTEGER NOT NULL, 
	total INTEGER NOT NULL, 
	metrics JSON NOT NULL, 
	history JSON NOT NULL, 
	log TEXT NOT NULL, 
	error TEXT, 
	result JSON, 
	pid INTEGER, 
	created_by VARCHAR(100), 
	created_at VARCHAR(32) NOT NULL, 
	started_at VARCHAR(32), 
	finished_at VARCHAR(32), 
	heartbeat_at VARCHAR(32), 
	PRIMARY KEY (id)
);
INSERT INTO "jobs" VALUES(1,'generate','done','{"template": "follow_up", "brand": "ledgerly"}',1.0,6,6,'{}','[]','',NULL,NULL,NULL,'marketer1','2026-11-30T21:07:33.211540Z',NULL,NULL,NULL);
CREATE TABLE reviews (
	id INTEGER NOT NULL, 
	draft_id INTEGER NOT NULL, 
	action VARCHAR(20) NOT NULL, 
	reviewer VARCHAR(100) NOT NULL, 
	from_state VARCHAR(20) NOT NULL, 
	to_state VARCHAR(20) NOT NULL, 
	reason_code VARCHAR(30), 
	reason_text TEXT, 
	diff TEXT, 
	edit_distance FLOAT, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(draft_id) REFERENCES drafts (id)
);
INSERT INTO "reviews" VALUES(1,1,'approve','rita','pending','approved',NULL,'fine','',0.0,'2026-11-30T21:07:33.233342Z');
INSERT INTO "reviews" VALUES(2,2,'edit','rita','pending','pending',NULL,NULL,'--- generated
+++ current
@@ -1,10 +1,7 @@
-Subject: Lee, your month-end close in 4 steps
+Subject: Edited subject
 
 Hi Lee,
 
-Thanks for downloading the close checklist for Globex. Teams like yours cut month-end close by 3 days with Ledgerly.
+Edited body.
 
-Want a 20-minute walkthrough next week?
-
-— The Ledgerly team
-Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · Unsubscribe: https://ledgerly.example/unsubscribe+— The Ledgerly team',8.36206896551724088162e-01,'2026-11-30T21:07:33.239352Z');
INSERT INTO "reviews" VALUES(3,3,'reject','rita','pending','rejected','tone','too stiff','',0.0,'2026-11-30T21:07:33.241024Z');
INSERT INTO "reviews" VALUES(4,4,'approve','rita','pending','approved',NULL,NULL,'',0.0,'2026-11-30T21:07:33.242479Z');
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	applied_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'adapters and jobs','2026-11-30T21:07:33.174927Z');
INSERT INTO "schema_version" VALUES(2,'contacts, drafts, guardrail results, tone profiles','2026-11-30T21:07:33.179205Z');
INSERT INTO "schema_version" VALUES(3,'users, draft versions, reviews, exports, audit','2026-11-30T21:07:33.183369Z');
INSERT INTO "schema_version" VALUES(4,'append-only audit','2026-11-30T21:07:33.183708Z');
CREATE TABLE tone_profiles (
	id INTEGER NOT NULL, 
	brand VARCHAR(200) NOT NULL, 
	adapter_id INTEGER, 
	embedder VARCHAR(500) NOT NULL, 
	n_emails INTEGER NOT NULL, 
	threshold FLOAT NOT NULL, 
	calibration JSON NOT NULL, 
	path VARCHAR(1000) NOT NULL, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(adapter_id) REFERENCES adapters (id)
);
INSERT INTO "tone_profiles" VALUES(1,'ledgerly',1,'fake',10,0.6,'{"precision": 1.0}','/tmp/x.npy','2026-11-30T21:07:33.249004Z');
CREATE TABLE users (
	id INTEGER NOT NULL, 
	username VARCHAR(100) NOT NULL, 
	password_hash VARCHAR(300) NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	active BOOLEAN NOT NULL, 
	created_at VARCHAR(32) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username)
);
INSERT INTO "users" VALUES(1,'root','$argon2id$v=19$m=1024,t=1,p=4$3lr6M3iYFNChY0KIeI2jFw$pdzK4T9VxIJ7R0P3ehzCWkl0G3yExQTgMMIVmvAWiuU','admin',1,'2026-11-30T21:07:33.189637Z');
INSERT INTO "users" VALUES(2,'rita','$argon2id$v=19$m=1024,t=1,p=4$U2Jk6rEh4baIHy943zic6g$VCofdwoOzJAOE1tTxL2MzHXUwWhuAKfQyXTW9SUfdIE','reviewer',1,'2026-11-30T21:07:33.199420Z');
INSERT INTO "users" VALUES(3,'marketer1','$argon2id$v=19$m=1024,t=1,p=4$xcIHnxNJDcQ5vGaM8Br55Q$5aI9jLy7Z7E60qk1ctbNwpiEHASx7K47+UViDibSHVY','marketer',1,'2026-11-30T21:07:33.210981Z');
CREATE INDEX ix_drafts_state ON drafts (state, id);
CREATE INDEX ix_drafts_job ON drafts (job_id);
CREATE INDEX ix_guardrail_draft ON guardrail_results (draft_id);
CREATE INDEX ix_reviews_draft ON reviews (draft_id);
CREATE INDEX ix_audit_draft ON audit (draft_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
COMMIT;
